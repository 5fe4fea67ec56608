#!/usr/bin/env python3
"""An agent exports a call's applications with Python (docs/api.md). Environment: ESSOR_URL,
ESSOR_TOKEN (a personal access token with the `export` scope), ESSOR_CALL (the call's id), OUT
(the file to write, default applications.xlsx)."""
import os
import sys

import requests

url = f"{os.environ['ESSOR_URL'].rstrip('/')}/api/v1/calls/{os.environ['ESSOR_CALL']}/export"
r = requests.get(url, params={"format": "xlsx"},
                 headers={"Authorization": f"Bearer {os.environ['ESSOR_TOKEN']}"})
if not r.ok:
    sys.exit(f"{r.status_code} {r.json().get('detail')}")
out = os.environ.get("OUT", "applications.xlsx")
with open(out, "wb") as f:
    f.write(r.content)
print(f"Export écrit dans {out} ({len(r.content)} octets)")
