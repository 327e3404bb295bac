"""`sertel deploy` as the command-line publish: all files or none; an earlier file comes back as a new version."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select

from engine.cli import deploy_command
from engine.models import ProcessDeployment, db
from engine.services import deploy
from tests.engine.test_deploy import KEY, changed_xml, original_xml, versions, with_unknown_operator


def test_cli_deploy_publishes_nothing_when_one_of_the_files_is_refused(app: Flask, tmp_path: Path) -> None:
    good = tmp_path / f"{KEY}.bpmn"
    good.write_text(changed_xml(), encoding="utf-8")
    broken = tmp_path / "revocation.bpmn"
    xml, task_id = with_unknown_operator((deploy.PROCESSES_DIR / "revocation.bpmn").read_text(encoding="utf-8"))
    broken.write_text(xml, encoding="utf-8")
    result = app.test_cli_runner().invoke(deploy_command, [str(good), str(broken)])
    assert result.exit_code == 1
    assert "revocation" in result.stderr and f"{task_id}: " in result.stderr
    assert "operator 'common.no_such_operator' tidak terdaftar" in result.stderr
    with app.app_context():
        assert versions() == [1] and versions("revocation") == [1]


def test_an_earlier_file_deployed_again_is_a_new_version_but_seeding_leaves_it(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / f"{KEY}.bpmn"
    path.write_text(original_xml(), encoding="utf-8")
    with app.app_context():
        deploy.deploy(changed_xml(), KEY, "owner")
        # The demo's seeding (on every `make run`) must not undo what the owner published.
        [(current, created)] = deploy.deploy_files([path], "demo", republish=False)
        assert not created and current.version == 2 and versions() == [1, 2]
    result = app.test_cli_runner().invoke(deploy_command, [str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{KEY}: v3 (versi baru")
    with app.app_context():
        first = db.session.execute(
            select(ProcessDeployment.sha256).where(ProcessDeployment.key == KEY, ProcessDeployment.version == 1)
        ).scalar()
        current = deploy.latest(KEY)
        assert current is not None and current.sha256 == first and current.version == 3
