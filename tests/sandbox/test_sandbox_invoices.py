"""Invoices: listing, detail, and PDF/receipt links the sandbox really serves."""

from __future__ import annotations

import re

import httpx
from sandbox_helpers import Api


def assert_valid_pdf(data: bytes) -> None:
    """A structurally valid PDF: header, trailer, and an xref table whose offsets point at the objects."""
    assert data.startswith(b"%PDF-1.")
    assert data.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\s+(\d+)\s+%%EOF", data).group(1))  # type: ignore[union-attr]
    assert data[startxref:startxref + 4] == b"xref"
    table = data[startxref:].split(b"trailer")[0].split(b"\n")
    first, size = (int(x) for x in table[1].split())
    entries = table[2:2 + size]
    for number, entry in enumerate(entries[1:], start=first + 1):
        offset = int(entry[:10])
        assert data[offset:].startswith(f"{number} 0 obj".encode()), number
    length = int(re.search(rb"/Length (\d+)", data).group(1))  # type: ignore[union-attr]
    stream = data.split(b"stream\n", 1)[1]
    assert stream[length:length + 10] == b"\nendstream"


async def test_invoice_pdf_and_receipt_are_served(api: Api, http: httpx.AsyncClient, other_api: Api) -> None:
    await api.ok("PUT", "/billing/info", json={"name": "Acme Corp (Research)", "email": "billing@acme.com"})
    fund = await api.ok("POST", "/wallet/fund", json={"amount": 25, "payment_method_id": "pm_card_visa"})
    listed = await api.ok("GET", "/billing/invoices")
    assert listed["count"] == 1 and listed["invoices"][0]["id"] == fund["invoice_id"]
    links = await api.ok("GET", f"/billing/invoices/{fund['invoice_id']}/pdf")
    assert links["invoice_id"] == fund["invoice_id"]
    assert links["pdf_url"] == f"http://sandbox.test/sandbox/invoices/{fund['invoice_id']}.pdf"
    pdf = await http.get(links["pdf_url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert_valid_pdf(pdf.content)
    assert b"Total: $25.00 USD" in pdf.content and b"Acme Corp \\(Research\\)" in pdf.content
    receipt = await http.get(links["receipt_url"])
    assert receipt.status_code == 200 and "text/html" in receipt.headers["content-type"]
    assert "$25.00" in receipt.text and "billing@acme.com" in receipt.text
    await other_api.err("GET", f"/billing/invoices/{fund['invoice_id']}", 404, "not_found")
    await other_api.err("GET", f"/billing/invoices/{fund['invoice_id']}/pdf", 404, "not_found")
    assert (await http.get("/sandbox/invoices/in_missing.pdf")).status_code == 404
    assert (await http.get("/sandbox/receipts/in_missing")).status_code == 404


async def test_open_invoice_has_a_pdf_but_no_receipt(api: Api, http: httpx.AsyncClient) -> None:
    sub = await api.ok("POST", "/subscriptions", json={"plan_id": 42, "payment_method_id": "pm_card_visa"})
    failed = await api.ok("POST", f"/sandbox/subscriptions/{sub['subscription']['id']}/fail-payment")
    links = await api.ok("GET", f"/billing/invoices/{failed['invoice_id']}/pdf")
    assert links["receipt_url"] is None
    pdf = await http.get(links["pdf_url"])
    assert_valid_pdf(pdf.content)
    assert b"Status: OPEN" in pdf.content
    assert (await http.get(f"/sandbox/receipts/{failed['invoice_id']}")).status_code == 404
    detail = await api.ok("GET", f"/billing/invoices/{failed['invoice_id']}")
    assert detail["status"] == "open" and detail["subscription_id"] == sub["subscription"]["id"]
    assert detail["period_start"] == sub["subscription"]["current_period_end"]
