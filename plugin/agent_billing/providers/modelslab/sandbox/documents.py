"""Invoice PDFs and receipts, generated on request and served by the sandbox.

``GET /billing/invoices/{id}/pdf`` links here: ``/sandbox/invoices/<id>.pdf`` (``application/pdf``, a
small valid PDF 1.4 in Helvetica) and ``/sandbox/receipts/<id>`` (an HTML receipt, paid invoices only).
Like Stripe's hosted invoice links they need no token: the random invoice id is the capability.

Example:
    >>> pdf = render_pdf(["Invoice SBX-000001", "Total: $25.00"], title="Invoice")
    >>> pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    True
"""

from __future__ import annotations

import html
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from agent_billing.providers.modelslab.sandbox.ledger import Invoice
from agent_billing.providers.modelslab.sandbox.state import Sandbox
from agent_billing.sandbox.units import iso, usd


def _pdf_text(text: str) -> str:
    # PDF literal strings: ASCII only here (Helvetica, WinAnsi), with \ ( ) escaped.
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return re.sub(r"([\\()])", r"\\\1", ascii_text)


def render_pdf(lines: list[str], *, title: str) -> bytes:
    """A one-page PDF with ``lines`` (the first one large and bold), with a correct xref table.

    Example:
        >>> pdf = render_pdf(["Invoice SBX-000001", "Total: $25.00"], title="Invoice SBX-000001")
        >>> pdf[:8], b"(Total: $25.00) Tj" in pdf
        (b'%PDF-1.4', True)
    """
    ops = ["BT", "/F2 20 Tf", "72 730 Td", f"({_pdf_text(lines[0] if lines else title)}) Tj", "/F1 11 Tf"]
    for line in lines[1:]:
        ops += ["0 -18 Td", f"({_pdf_text(line)}) Tj"]
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> "
        b"/Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        f"<< /Title ({_pdf_text(title)}) /Producer (agent-billing sandbox) >>".encode("ascii"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 7 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _bill_to(sandbox: Sandbox, inv: Invoice) -> list[str]:
    info = sandbox.ledger.billing_info(inv.account_id)
    city = " ".join(v for v in (info.get("address_city"), info.get("address_state"), info.get("address_postal_code"))
                    if v)
    parts = [info.get("name"), info.get("email"), info.get("address_line1"), info.get("address_line2"), city,
             info.get("address_country")]
    lines = [str(p) for p in parts if p]
    if info.get("tax_id"):
        lines.append(f"Tax id ({info.get('tax_id_type') or 'tax'}): {info['tax_id']}")
    return lines or ["(no billing information on file)"]


def _payment_line(sandbox: Sandbox, inv: Invoice) -> str:
    pi = sandbox.ledger.payment_intent(inv.payment_intent_id) if inv.payment_intent_id else None
    if pi is None:
        return "Payment: none yet"
    return f"Payment: {pi.id} ({pi.status}) with {pi.payment_method_id or 'card'}"


def invoice_pdf(sandbox: Sandbox, inv: Invoice) -> bytes:
    """The PDF of an invoice.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> sb = create_app().state.sandbox
        >>> acct = sb.account_for_token("sk_sandbox_demo")
        >>> inv = sb.ledger.insert_invoice(acct.id, 4700, status="open", description="Standard renewal", payment_intent_id=None)
        >>> b"(Total: $47.00 USD) Tj" in invoice_pdf(sb, inv)
        True
    """
    lines = [
        "ModelsLab - Invoice", f"Invoice number: {inv.number}", f"Invoice id: {inv.id}", f"Date: {iso(inv.created_at)}",
        f"Status: {inv.status.upper()}", "", "Bill to:", *[f"    {line}" for line in _bill_to(sandbox, inv)], "",
        f"{inv.description}    ${usd(inv.amount_cents)}",
    ]
    if inv.period_start is not None and inv.period_end is not None:
        lines.append(f"Period: {iso(inv.period_start)} to {iso(inv.period_end)}")
    lines += ["", f"Total: ${usd(inv.amount_cents)} {inv.currency.upper()}", _payment_line(sandbox, inv), "",
              "SANDBOX DOCUMENT - no real money moved."]
    return render_pdf(lines, title=f"Invoice {inv.number}")


def receipt_html(sandbox: Sandbox, inv: Invoice) -> str:
    """The HTML receipt of a paid invoice.

    Example:
        >>> from agent_billing import inprocess, sandbox
        >>> app = sandbox.create_app(); ledger = app.state.sandbox.ledger
        >>> with inprocess.sandbox_clients(app)[0] as client:
        ...     inv = ledger.invoice(client.fund_wallet(25, "pm_card_visa").invoice_id)
        >>> "<td class=total>$25.00 USD</td>" in receipt_html(app.state.sandbox, inv)
        True
    """
    e = html.escape
    bill_to = "<br>".join(e(line) for line in _bill_to(sandbox, inv))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Receipt "
        f"{e(inv.number)}</title><style>body{{font-family:system-ui,sans-serif;max-width:560px;margin:40px auto;"
        "color:#1f2328}td{padding:4px 8px}.total{font-weight:600;font-size:20px}</style></head><body>"
        f"<p><small>SANDBOX: no real money moved</small></p><h1>Receipt from ModelsLab</h1>"
        f"<p>Receipt for invoice <b>{e(inv.number)}</b> ({e(inv.id)}), paid {e(iso(inv.paid_at or inv.created_at))}</p>"
        f"<table><tr><td>{e(inv.description)}</td><td>${usd(inv.amount_cents)}</td></tr>"
        f"<tr><td class=total>Amount paid</td><td class=total>${usd(inv.amount_cents)} {e(inv.currency.upper())}"
        f"</td></tr></table><p>{e(_payment_line(sandbox, inv))}</p><h2>Billed to</h2><p>{bill_to}</p>"
        "</body></html>"
    )


def routes(sandbox: Sandbox) -> list[Route]:
    """The document routes of one sandbox.

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> [r.path for r in routes(create_app().state.sandbox)]
        ['/sandbox/invoices/{invoice_id}.pdf', '/sandbox/receipts/{invoice_id}']
    """

    async def pdf(request: Request) -> Response:
        inv = await run_in_threadpool(sandbox.ledger.invoice, request.path_params["invoice_id"])
        if inv is None:
            return Response("No such invoice.\n", status_code=404, media_type="text/plain")
        body = await run_in_threadpool(invoice_pdf, sandbox, inv)
        return Response(body, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{inv.number}.pdf"'})

    async def receipt(request: Request) -> Response:
        inv = await run_in_threadpool(sandbox.ledger.invoice, request.path_params["invoice_id"])
        if inv is None or inv.status != "paid":
            return HTMLResponse("<!doctype html><title>Not found</title><h1>No receipt</h1>"
                                "<p>No paid invoice with this id.</p>", status_code=404)
        return HTMLResponse(await run_in_threadpool(receipt_html, sandbox, inv))

    return [
        Route("/sandbox/invoices/{invoice_id}.pdf", pdf, methods=["GET"]),
        Route("/sandbox/receipts/{invoice_id}", receipt, methods=["GET"]),
    ]
