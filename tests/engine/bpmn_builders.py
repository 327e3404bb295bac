"""Builders of small spiff-flavoured BPMN documents for engine tests."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
    ' xmlns:sertel="https://sertel.id/schema/bpmn/1.0"'
    ' id="definitions_{key}" targetNamespace="http://sertel.test/{key}">\n'
)


def start(node_id: str = "start") -> str:
    return f'<bpmn:startEvent id="{node_id}" />'


def end(node_id: str = "end") -> str:
    return f'<bpmn:endEvent id="{node_id}" />'


def user_task(
    node_id: str,
    name: str = "",
    form: str | None = None,
    output: str | None = None,
    inputs: dict[str, str] | None = None,
) -> str:
    """A user task naming the catalogue form `form` (default: the task id; "" names none)."""
    form = node_id if form is None else form
    if not form:
        return f'<bpmn:userTask id="{node_id}" name={quoteattr(name or node_id)} />'
    attrs = f"name={quoteattr(form)}" + (f" output={quoteattr(output)}" if output else "")
    body = "".join(f"<sertel:input name={quoteattr(k)} value={quoteattr(v)} />" for k, v in (inputs or {}).items())
    return (
        f'<bpmn:userTask id="{node_id}" name={quoteattr(name or node_id)}><bpmn:extensionElements>'
        f"<sertel:form {attrs}>{body}</sertel:form></bpmn:extensionElements></bpmn:userTask>"
    )


def timer_boundary(node_id: str, attached_to: str, duration: str, interrupting: bool = False) -> str:
    """A timer boundary event on `attached_to` whose duration is the expression `duration`."""
    return (
        f'<bpmn:boundaryEvent id="{node_id}" attachedToRef="{attached_to}" cancelActivity="{str(interrupting).lower()}">'
        f'<bpmn:timerEventDefinition id="{node_id}_timer"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">'
        f"{escape(duration)}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    )


def script_task(node_id: str, script: str) -> str:
    return f'<bpmn:scriptTask id="{node_id}"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>'


def service_task(node_id: str, operator: str, result: str, name: str = "", **params: str) -> str:
    """A service task calling `operator`; each keyword is a parameter expression."""
    parameters = "".join(
        f"<spiffworkflow:parameter id={quoteattr(k)} type=\"any\" value={quoteattr(v)} />" for k, v in params.items()
    )
    return (
        f'<bpmn:serviceTask id="{node_id}" name={quoteattr(name or node_id)}><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id={quoteattr(operator)} resultVariable={quoteattr(result)}>'
        f"<spiffworkflow:parameters>{parameters}</spiffworkflow:parameters>"
        "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
    )


def gateway(node_id: str, default: str) -> str:
    return f'<bpmn:exclusiveGateway id="{node_id}" default="{default}" />'


def flow(source: str, target: str, condition: str | None = None) -> str:
    """A sequence flow `flow_<source>_<target>`, with an optional condition expression."""
    body = (
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression>'
        if condition
        else ""
    )
    return f'<bpmn:sequenceFlow id="flow_{source}_{target}" sourceRef="{source}" targetRef="{target}">{body}</bpmn:sequenceFlow>'


def chain(*node_ids: str) -> list[str]:
    """Unconditional flows joining the nodes in order."""
    return [flow(a, b) for a, b in zip(node_ids, node_ids[1:])]


def document(
    key: str,
    nodes: list[str],
    flows: list[str],
    lanes: dict[str, list[str]] | None = None,
    properties: dict[str, str] | None = None,
    start_form: str | None = None,
) -> str:
    """A BPMN document with one executable process `key`; `lanes` maps lane names to node ids.

    `properties` become the process's `<sertel:properties>`, `start_form` its `<sertel:form>`.
    """
    lane_set = ""
    if lanes:
        lane_set = '<bpmn:laneSet id="laneset">' + "".join(
            f'<bpmn:lane id="lane_{i}" name={quoteattr(name)}>'
            + "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in refs)
            + "</bpmn:lane>"
            for i, (name, refs) in enumerate(lanes.items())
        ) + "</bpmn:laneSet>"
    extensions = ""
    if properties or start_form:
        props = "".join(
            f"<sertel:property name={quoteattr(k)} value={quoteattr(v)} />" for k, v in (properties or {}).items()
        )
        extensions = (
            "<bpmn:extensionElements>"
            + (f"<sertel:form name={quoteattr(start_form)} />" if start_form else "")
            + (f"<sertel:properties>{props}</sertel:properties>" if props else "")
            + "</bpmn:extensionElements>"
        )
    return (
        HEADER.format(key=key)
        + f'<bpmn:process id="{key}" name="Test {key}" isExecutable="true">'
        + extensions
        + lane_set
        + "".join(nodes)
        + "".join(flows)
        + "</bpmn:process></bpmn:definitions>"
    )
