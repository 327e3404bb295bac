"""Sealing what the RA produces with its own certificate, with one fallback when no seal is available."""

from __future__ import annotations

import logging

from engine.handler_api import HandlerContext, HandlerError

logger = logging.getLogger(__name__)


def seal_by_ra(ctx: HandlerContext, pdf: bytes, reason: str) -> tuple[bytes, str]:
    """Seal a PDF with the RA's certificate: (pdf, 'ra_seal').

    When the engine has no RA seal (a remote PSrE: the seal key lives in the embedded PSrE only), the
    PDF is kept unsigned, marked 'unsigned' and logged, rather than stopping every SOP at this step.
    """
    try:
        return bytes(ctx.seal_pdf(pdf, reason)), "ra_seal"
    except HandlerError as err:
        logger.warning("case %s: PDF kept unsigned, RA seal unavailable: %s", ctx.case_id, err)
        return pdf, "unsigned"
