#!/usr/bin/env python3
"""Scoring from a spreadsheet (docs/api.md): submits a reviewer's reviews from one CSV file.

    ESSOR_URL=https://essor.example.fr ESSOR_TOKEN=essor_pat_… python3 score_from_csv.py notes.csv

The file (UTF-8, `;`-separated, as Excel in French saves it) has a header line, then one line
per application:

    reference;social_utility;territorial_anchoring;governance;economic_viability;jobs;recommendation;comment
    EA-2026-00042;4;3;5;3;2;favorable;Projet solide, ancrage local réel.

One column per key of the call's grid (`GET /api/v1/calls/{id}`, `scoring_grid`), each an integer
from 0 to the criterion's `max_score`; `recommendation` is `favorable`, `reserved` or
`unfavorable` (or favorable, réservé, défavorable). The token needs the scopes `read` and
`review`, and each assignment must be accepted (absence of conflict declared) first.

Every line is checked in full before anything is sent: a line with an error is reported, in
French, with all its errors, and nothing is saved for it; the other lines are saved and
submitted. With --brouillon the reviews are saved as drafts, not submitted. The exit status is
0 when every line went through, 1 otherwise.
"""
import csv
import os
import sys

import requests

RECOMMENDATIONS = {
    "favorable": "favorable", "reserved": "reserved", "unfavorable": "unfavorable",
    "réservé": "reserved", "reserve": "reserved", "défavorable": "unfavorable",
    "defavorable": "unfavorable",
}


class Essor:
    def __init__(self, url, token):
        self.api = url.rstrip("/") + "/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path, **params):
        r = self.http.get(self.api + path, params=params)
        if not r.ok:
            raise SystemExit(f"Erreur {r.status_code} sur {path} : {refusal(r)}")
        return r.json()

    def assignments(self):
        """Every assignment of the token's owner, by application reference."""
        out, page = {}, 1
        while True:
            body = self.get("/assignments", page=page, per_page=100)
            for a in body["items"]:
                # A recused assignment yields to a live one for the same application.
                if a["reference"] not in out or a["status"] != "recused":
                    out[a["reference"]] = a
            if page * body["per_page"] >= body["total"]:
                return out
            page += 1


def refusal(r):
    """essor's French explanation of a refusal (problem+json), with the faulty fields."""
    try:
        problem = r.json()
    except ValueError:
        return r.text
    details = [problem.get("detail", "")]
    for field, messages in (problem.get("errors") or {}).items():
        details.append(f"{field} : {' ; '.join(messages)}")
    return " ; ".join(d for d in details if d)


def check_line(row, assignment, grid):
    """The line's review, or the list of what is wrong with it (in French)."""
    errors = []
    reference = (row.get("reference") or "").strip()
    if row.get(None):
        # csv.DictReader puts the cells beyond the header's under None.
        return None, ["la ligne a plus de cellules que l'en-tête : un texte qui contient « ; » "
                      "doit être entre guillemets"]
    if assignment is None:
        return None, [f"la référence « {reference} » ne correspond à aucune de vos évaluations"]
    if assignment["status"] == "pending":
        errors.append("déclarez d'abord l'absence de conflit d'intérêts pour ce dossier")
    elif assignment["status"] == "recused":
        errors.append("vous vous êtes récusé(e) pour ce dossier")
    if assignment.get("review_status") == "submitted":
        errors.append("votre évaluation de ce dossier est déjà soumise")
    scores = {}
    for criterion in grid:
        key, top = criterion["key"], criterion["max_score"]
        if key not in row:
            errors.append(f"la colonne « {key} » ({criterion['label']}) manque dans le fichier")
            continue
        raw = (row.get(key) or "").strip()
        if raw == "":
            errors.append(f"la note « {key} » est vide")
        elif not raw.lstrip("-").isdigit():
            errors.append(f"la note « {key} » doit être un nombre entier (lu : « {raw} »)")
        elif not 0 <= int(raw) <= top:
            errors.append(f"la note « {key} » doit être comprise entre 0 et {top} (lu : {raw})")
        else:
            scores[key] = int(raw)
    raw = (row.get("recommendation") or "").strip().lower()
    recommendation = RECOMMENDATIONS.get(raw)
    if recommendation is None:
        errors.append(f"la recommandation « {raw} » est inconnue : favorable, reserved "
                      "(réservé) ou unfavorable (défavorable)")
    comment = (row.get("comment") or "").strip()
    if errors:
        return None, errors
    return {"scores": scores, "recommendation": recommendation, "comment": comment}, []


def main(argv):
    paths = [a for a in argv if not a.startswith("--")]
    draft_only = "--brouillon" in argv
    if len(paths) != 1:
        raise SystemExit(__doc__)
    essor = Essor(os.environ["ESSOR_URL"], os.environ["ESSOR_TOKEN"])
    assignments = essor.assignments()
    grids = {}
    done, failed = 0, 0
    with open(paths[0], newline="", encoding="utf-8-sig") as f:
        for number, row in enumerate(csv.DictReader(f, delimiter=";"), start=2):
            reference = (row.get("reference") or "").strip()
            where = f"ligne {number} ({reference or 'sans référence'})"
            assignment = assignments.get(reference)
            grid = []
            if assignment is not None:
                call_id = assignment["call_id"]
                if call_id not in grids:
                    grids[call_id] = essor.get(f"/calls/{call_id}")["scoring_grid"]
                grid = grids[call_id]
            review, errors = check_line(row, assignment, grid)
            if errors:
                failed += 1
                print(f"{where} : refusée, rien n'a été enregistré — " + " ; ".join(errors))
                continue
            path = f"{essor.api}/assignments/{assignment['id']}/review"
            r = essor.http.put(path, json=review)
            if not r.ok:
                failed += 1
                print(f"{where} : refusée par essor, rien n'a été enregistré — {refusal(r)}")
                continue
            if draft_only:
                done += 1
                print(f"{where} : enregistrée en brouillon")
                continue
            r = essor.http.post(path + "/submit", json={})
            if not r.ok:
                # Only a change of the dossier between the two requests gets here.
                failed += 1
                print(f"{where} : enregistrée en brouillon mais non soumise — {refusal(r)}")
                continue
            done += 1
            print(f"{where} : soumise, note {r.json()['score']} / 100")
    verb = "enregistrée(s)" if draft_only else "soumise(s)"
    print(f"{done} évaluation(s) {verb}, {failed} ligne(s) refusée(s).")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
