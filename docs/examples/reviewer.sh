#!/usr/bin/env bash
# A reviewer's work with curl (docs/api.md): a personal access token, the assignments, the
# declaration of no conflict of interest, a review saved then submitted.
# Needs: curl, jq. Environment: ESSOR_URL (https://essor.example.fr), ESSOR_EMAIL,
# ESSOR_PASSWORD (only to create the token; afterwards keep the token, not the password).
set -euo pipefail
: "${ESSOR_URL:?ESSOR_URL manque}" "${ESSOR_EMAIL:?ESSOR_EMAIL manque}" "${ESSOR_PASSWORD:?ESSOR_PASSWORD manque}"
api="$ESSOR_URL/api/v1"
json=(-H "Content-Type: application/json")

# 1. Sign in once with the password (a one-hour JWT), and create a personal access token
#    scoped to read and review, valid 90 days. The secret (essor_pat_…) is shown this once.
jwt=$(jq -n --arg email "$ESSOR_EMAIL" --arg password "$ESSOR_PASSWORD" '{email: $email, password: $password}' |
  curl -fsS "${json[@]}" -d @- "$api/auth/token" | jq -r .access_token)
expires_on=$(date -u -d "+90 days" +%F)
ESSOR_TOKEN=$(jq -n --arg d "$expires_on" '{name: "Script du comité", scopes: ["read", "review"], expires_on: $d}' |
  curl -fsS "${json[@]}" -H "Authorization: Bearer $jwt" -d @- "$api/me/tokens" | jq -r .token)
auth=(-H "Authorization: Bearer $ESSOR_TOKEN")

# 2. The assignments: the first one still waiting for the declaration.
assignment=$(curl -fsS "${auth[@]}" "$api/assignments?per_page=100" |
  jq -r '[.items[] | select(.status == "pending")][0].id // empty')
if [ -z "$assignment" ]; then
  echo "Aucune évaluation en attente." >&2
  exit 1
fi

# 3. Declare no conflict of interest (or POST …/recuse with {"reason": …}).
curl -fsS "${auth[@]}" "${json[@]}" \
  -d '{"statement": "Je déclare n'"'"'avoir aucun lien avec la structure candidate."}' \
  "$api/assignments/$assignment/accept" > /dev/null

# 4. Score: a draft first (it can be changed until it is submitted), then submit it.
curl -fsS -X PUT "${auth[@]}" "${json[@]}" -d '{
    "scores": {"social_utility": 4, "territorial_anchoring": 3, "governance": 5,
               "economic_viability": 3, "jobs": 2},
    "recommendation": "favorable",
    "comment": "Projet solide, ancrage local réel ; modèle économique à consolider."
  }' "$api/assignments/$assignment/review" > /dev/null
curl -fsS "${auth[@]}" "${json[@]}" -d '{}' "$api/assignments/$assignment/review/submit" |
  jq -r '"Évaluation soumise : note \(.score) / 100"'
