#!/usr/bin/env python3
"""A reviewer's work with Python and requests (docs/api.md): a personal access token, the
assignments, the declaration of no conflict of interest, a review saved then submitted.

Environment: ESSOR_URL, ESSOR_EMAIL, ESSOR_PASSWORD (only to create the token; afterwards keep
the token, in ESSOR_TOKEN, not the password).
"""
import datetime
import os
import sys

import requests

api = os.environ["ESSOR_URL"].rstrip("/") + "/api/v1"
http = requests.Session()

# 1. A personal access token (scopes read and review, 90 days), created with a one-hour JWT.
token = os.environ.get("ESSOR_TOKEN")
if not token:
    r = http.post(f"{api}/auth/token", json={"email": os.environ["ESSOR_EMAIL"],
                                             "password": os.environ["ESSOR_PASSWORD"]})
    r.raise_for_status()
    jwt = r.json()["access_token"]
    expires_on = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
    r = http.post(f"{api}/me/tokens", headers={"Authorization": f"Bearer {jwt}"},
                  json={"name": "Script Python", "scopes": ["read", "review"],
                        "expires_on": expires_on})
    r.raise_for_status()
    token = r.json()["token"]  # essor_pat_…, shown this once: keep it safe
http.headers["Authorization"] = f"Bearer {token}"


def check(r):
    """Stops on a refusal, with essor's French explanation (problem+json)."""
    if not r.ok:
        problem = r.json()
        sys.exit(f"{r.status_code} {problem.get('detail')} {problem.get('errors', '')}")
    return r.json() if r.content else None


# 2. The assignments waiting for the declaration.
page = check(http.get(f"{api}/assignments", params={"per_page": 100}))
pending = [a for a in page["items"] if a["status"] == "pending"]
if not pending:
    sys.exit("Aucune évaluation en attente.")
assignment = pending[0]

# 3. Declare no conflict of interest (or POST …/recuse with {"reason": …}).
check(http.post(f"{api}/assignments/{assignment['id']}/accept",
                json={"statement": "Je déclare n'avoir aucun lien avec la structure candidate."}))

# 4. The grid of the call says which scores are expected, and their maximum.
call = check(http.get(f"{api}/calls/{assignment['call_id']}"))
scores = {c["key"]: min(3, c["max_score"]) for c in call["scoring_grid"]}
check(http.put(f"{api}/assignments/{assignment['id']}/review",
               json={"scores": scores, "recommendation": "reserved",
                     "comment": "Bon projet ; le plan de financement reste à préciser."}))
review = check(http.post(f"{api}/assignments/{assignment['id']}/review/submit", json={}))
print(f"{assignment['reference']} : évaluation soumise, note {review['score']} / 100")
