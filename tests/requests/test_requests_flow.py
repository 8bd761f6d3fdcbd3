"""The whole request flow without a browser: answers and files encrypted for the request's keys, uploaded
through the link (tus), submitted (the requester is emailed), then `c11 request download` decrypts them."""

from __future__ import annotations

import io
import json

import httpx
from accountkit import make_org
from conftest import answer, request_link
from srvkit import new_email, outbox_messages, run_cli, text_body

from c11 import files
from c11.keys import keyfile
from c11.log.entries import email_hash

FORM = [
    {
        "title": "Documents",
        "fields": [
            {"id": "full_name", "label": "Full name", "type": "text", "required": True},
            {
                "id": "payslips",
                "label": "Payslips",
                "type": "file",
                "required": True,
                "max_files": 2,
                "accept": [".pdf"],
            },
        ],
    }
]


def test_answer_submit_and_download_with_the_cli(req_server, requester, tmp_path):
    make_org(req_server, requester.email)  # the requester is its admin: shared templates, groups, usage events
    requester.client.groups.create("hr", [requester.email], identity=requester.identity)
    group_key = requester.client.groups.group_key("hr")
    # the organization's recovery key: `c11 request create` signs it into `keys` (from the verified org policy)
    rec, _ = requester.client.groups.recovery.create("escrow", tmp_path / "escrow.key", None)
    keyf = tmp_path / "me.key"
    keyf.write_bytes(keyfile.dumps(requester.identity, None))
    env = {"C11_SERVER": req_server.url, "C11_TOKEN": requester.client._core.token}
    form = tmp_path / "form.json"
    form.write_text(json.dumps(FORM))
    made = run_cli(
        [
            "request",
            "templates",
            "create",
            "--name",
            "Payroll",
            "--form",
            str(form),
            "--shared",
            "--group",
            "hr",
            "--json",
        ],
        tmp_path / "cfg",
        env,
    )
    assert made.returncode == 0, made.stderr
    to = new_email("bob")
    made = run_cli(
        ["request", "create", "--template", "Payroll", "--to", to, "-i", str(keyf), "--json"], tmp_path / "cfg", env
    )
    assert made.returncode == 0, made.stderr
    rid, token = request_link(req_server, to)
    assert json.loads(made.stdout)["id"] == rid
    with httpx.Client(base_url=req_server.url, headers={"authorization": f"Bearer {token}"}) as h:
        r = answer(
            h, rid, {"full_name": "Bob Builder"}, {"payslips": [("jan.pdf", b"%PDF-1 jan"), ("feb.pdf", b"%PDF feb")]}
        )
        assert r.status_code == 200, r.text
        assert h.post(f"/api/v1/request-links/{rid}/submit").status_code == 409  # only once
    request = requester.client.doc_requests.show(rid)["request"]
    # the requester's key, the organization's recovery key (signed, so no server can add or swap one), the group
    assert request["keys"] == [requester.identity.public.line(), rec.public_key.line(), group_key.line()]
    answers_c11 = requester.client.doc_requests._item_bytes(rid, 0, 1 << 20)
    got = {r["fingerprint"] for r in files.inspect(io.BytesIO(answers_c11)).recipients}
    assert {group_key.fingerprint, rec.fingerprint} <= got
    mails = outbox_messages(req_server.data_dir, requester.email, 2)  # the verification, then the upload
    assert "uploaded 2 protected files" in text_body(mails[-1]) or "uploaded 2 protected files" in text_body(mails[0])
    listed = run_cli(["request", "list"], tmp_path / "cfg", env)
    assert f"{rid}  submitted" in listed.stdout, listed.stdout + listed.stderr
    out = tmp_path / "answers"
    got = run_cli(["request", "download", rid, "-o", str(out), "-i", str(keyf)], tmp_path / "cfg", env)
    assert got.returncode == 0, got.stderr
    assert json.loads((out / "answers.json").read_text())["answers"] == {"full_name": "Bob Builder"}
    assert (out / "jan.pdf").read_bytes() == b"%PDF-1 jan" and (out / "feb.pdf").read_bytes() == b"%PDF feb"
    shown = run_cli(["request", "show", rid, "--json"], tmp_path / "cfg", env)
    assert json.loads(shown.stdout)["status"] == "downloaded"
    bad = run_cli(["request", "download", rid, "-o", str(out), "-i", str(keyf)], tmp_path / "cfg", env)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "not empty" in bad.stderr
    # usage events of the requester's organization; the public log names nobody (v2 entries)
    events = [e for e in requester.client.events.query(order="asc").events if e.doc_id == rid]
    assert [(e.action, e.detail["op"]) for e in events] == [
        ("share", "create"),
        ("open", "open"),
        ("share", "submit"),
        ("open", "download"),
    ]
    assert all(e.actor == requester.email and e.detail["via"] == "request" for e in events)
    entries = [text for _, text in requester.client.log.entries(0) if '"kind":"request"' in text]
    assert entries and not any(email_hash(requester.email) in e for e in entries)
