#!/usr/bin/env python3
"""Submit throughput: prepares N eligible drafts (on a call that asks for no document), then
submits them from C concurrent clients and prints `submits_per_s p50_ms p99_ms ok refused`.

Each submit computes the eligibility report, checks the window, writes the state, the audit
event and the outbox mails in one transaction: this measures that whole use case.

Usage: submit.py BASE_URL STAFF_TOKEN N CONCURRENCY
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse

BASE, STAFF, N, C = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# The applicants' addresses, one per client, created beforehand with `essor create-user` (a
# self-registered address must be verified through its mail before it may submit).
EMAILS = sys.argv[5].split(",")
URL = urllib.parse.urlparse(BASE)
PASSWORD = "une phrase de passe solide"


def conn():
    return http.client.HTTPConnection(URL.hostname, URL.port, timeout=60)


def call(c, method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


def luhn_digit(digits):
    """The digit that completes `digits` into a Luhn-valid number."""
    for d in range(10):
        total = 0
        for k, c in enumerate(reversed(digits + str(d))):
            n = int(c) * (2 if k % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return str(d)


def siret(i):
    """A distinct valid SIRET per application: one application per structure and call."""
    siren = f"{7 * 10**7 + i:08d}"
    siren += luhn_digit(siren)
    nic = "0001"
    return siren + nic + luhn_digit(siren + nic)


def sample(n):
    return {
        "organisation": {
            "name": f"Banc d'essai n° {n}", "legal_form": "association",
            "siret": siret(n), "rna": "W595012345", "created_on": "2025-03-01",
            "address": "12 rue de Lannoy", "postal_code": "59650", "commune_insee": "59009",
            "employees": 2, "esus": "none", "insertion_structure": None,
            "rcs_ess_mention": False, "in_insolvency_proceedings": False,
        },
        "project": {
            "title": "Recyclerie de quartier", "summary": "Banc d'essai.", "stage": "startup",
            "activity_communes": ["59009"], "total_budget_cents": 9000000,
            "requested_cents": 2000000, "starts_on": "2027-01-15", "jobs_created": 2,
        },
        "ess": {
            "purpose_beyond_profit": True, "democratic_governance": True,
            "governance_description": "Une personne, une voix.", "reinvested_profit_pct": 100,
            "development_fund_pct": None, "retained_earnings_and_reserves_pct": None,
            "impartible_reserves": True, "no_capital_amortization": True,
            "social_utility": ["social_link"], "social_utility_statement": "Lien social.",
            "top5_avg_pay_smic_ratio": None, "top_pay_smic_ratio": None,
        },
    }


def main():
    c = conn()
    st, created = call(c, "POST", "/api/v1/calls",
                       {"title": "Banc d'essai des dépôts", "budget_cents": 100000000,
                        "required_documents": []}, STAFF)
    assert st == 201, (st, created)
    call_id = created["id"]
    st, _ = call(c, "POST", f"/api/v1/calls/{call_id}/publish", {}, STAFF)
    assert st == 200, st
    # One applicant per concurrent client: concurrent applicants, each with their drafts.
    tokens = []
    for email in EMAILS[:C]:
        st, tok = call(c, "POST", "/api/v1/auth/token", {"email": email, "password": PASSWORD})
        assert st == 200, st
        tokens.append(tok["access_token"])
    drafts = [[] for _ in range(C)]
    for i in range(N):
        k = i % C
        st, app = call(c, "POST", f"/api/v1/calls/{call_id}/applications", sample(i), tokens[k])
        assert st == 201, (st, app)
        drafts[k].append(app["id"])

    latencies, statuses, lock = [], [], threading.Lock()

    def worker(k):
        cc = conn()
        for app_id in drafts[k]:
            t0 = time.perf_counter()
            st, _ = call(cc, "POST", f"/api/v1/applications/{app_id}/submit", {}, tokens[k])
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                statuses.append(st)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(C)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    ok = sum(1 for s in statuses if s == 200)
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"{ok / elapsed:.1f} {p(0.5):.1f} {p(0.99):.1f} {ok} {len(statuses) - ok}")


main()
