#!/usr/bin/env python3
"""Generate a synthetic organisation for benchmarking corroborate.

Writes, into OUT (created when missing):

- entitlements.csv: IDENTITIES identities with GRANTS_PER_IDENTITY grants each
  (action and endpoint patterns, some wildcards), owners and credentials;
- tests.csv: API test results, a few per service and environment;
- events.jsonl: EVENTS access events in native JSON Lines, spread over DAYS days
  ending the day before --as-of (2026-11-30 by default).

Faults are planted at fixed rates so every rule has work: identities that call
operations no grant covers, identities missing from the export, revoked
credentials still used, dormant identities, unused grants, denied requests and
traces. The output depends only on the arguments and the seed.

Only the Python standard library is used. Convert the events to Parquet with
benches/run.sh (DuckDB) or any other tool.
"""

import argparse
import csv
import datetime as dt
import os
import random

SERVICES = 60
OPERATIONS = [
    # (verb for the action, method, endpoint template with {id} for an id segment)
    ("read", "GET", "/v1/{svc}/items/{id}"),
    ("list", "GET", "/v1/{svc}/items"),
    ("create", "POST", "/v1/{svc}/items"),
    ("update", "PATCH", "/v1/{svc}/items/{id}"),
    ("delete", "DELETE", "/v1/{svc}/items/{id}"),
    ("export", "GET", "/v1/{svc}/reports/{id}/export"),
    ("search", "POST", "/v1/{svc}/search"),
    ("admin", "PUT", "/v1/{svc}/settings"),
]
TYPES = [("svc", "service_account", 50), ("key", "api_key", 20), ("wl", "workload", 20), ("bot", "bot", 10)]
AGENTS = ["okhttp/4.12.0", "python-requests/2.32.3", "Go-http-client/1.1", "aws-sdk-java/2.25.0", "curl/8.5.0"]
AUTH_PATHS = ["oauth2", "oauth2", "oauth2", "mtls", "api_key"]
REASONS = ["insufficient_scope", "policy_denied", "token_expired"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="output folder")
    parser.add_argument("--identities", type=int, default=50_000)
    parser.add_argument("--grants-per-identity", type=int, default=4)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90, help="days the events spread over")
    parser.add_argument("--as-of", default="2026-11-30", help="review date (UTC midnight)")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--no-entitlements", action="store_true", help="write only the events")
    return parser.parse_args()


class Identity:
    __slots__ = ("name", "kind", "env", "services", "grants", "operations", "credential",
                 "revoked_at", "known", "dormant", "rogue", "sources", "agent", "auth")


def service_name(index):
    return f"svc{index:02d}-api"


def build_identities(rng, count, grants_per_identity, as_of):
    identities = []
    weights = [weight for _, _, weight in TYPES]
    for index in range(count):
        identity = Identity()
        prefix, kind, _ = rng.choices(TYPES, weights)[0]
        identity.name = f"{prefix}-{index:06d}"
        identity.kind = kind
        identity.env = "prod" if rng.random() < 0.7 else "staging"
        primary = index % SERVICES
        identity.services = [primary] if rng.random() < 0.8 else [primary, (primary + 7) % SERVICES]
        identity.known = True
        identity.dormant = rng.random() < 0.004
        identity.rogue = rng.random() < 0.004
        identity.credential = f"kid-{index:06d}"
        identity.revoked_at = None
        if rng.random() < 0.002:
            identity.revoked_at = as_of - dt.timedelta(days=rng.randint(5, 40), hours=rng.randint(0, 23))
        workload = f"{service_name(primary).split('-')[0]}-{prefix}{index % 97}"
        # Two pods of one Kubernetes replica set: `NAME-<replica set>-<pod>`.
        replica_set = f"{rng.getrandbits(36):09x}"
        identity.sources = [f"{workload}-{replica_set}-{rng.getrandbits(20):05x}" for _ in range(2)]
        identity.agent = rng.choice(AGENTS)
        identity.auth = rng.choice(AUTH_PATHS)
        # Grants: operation indexes per service, some as wildcards.
        identity.grants = []
        identity.operations = []
        for slot in range(grants_per_identity):
            service = identity.services[slot % len(identity.services)]
            operation = rng.randrange(len(OPERATIONS))
            style = rng.random()
            identity.grants.append((service, operation, style))
            if rng.random() < 0.01:
                pass  # a grant its identity never uses: unused-entitlement
            elif style < 0.97:
                identity.operations.append((service, operation))
            else:
                # A wildcard action grant covers every operation of the service;
                # the identity uses most of them, so it is not over-broad.
                identity.operations.extend((service, verb) for verb in range(6))
        if not identity.operations:
            service, operation, _ = identity.grants[0]
            identity.operations.append((service, operation))
        identities.append(identity)
    # Identities the entitlement export does not list.
    for index in range(max(5, count // 2500)):
        identity = Identity()
        identity.name = f"svc-shadow-{index:04d}"
        identity.kind = "service_account"
        identity.env = "prod"
        identity.services = [index % SERVICES]
        identity.known = False
        identity.dormant = False
        identity.rogue = False
        identity.credential = f"kid-shadow-{index:04d}"
        identity.revoked_at = None
        identity.sources = [f"shadow-job-{index}"]
        identity.agent = "python-requests/2.32.3"
        identity.auth = "oauth2"
        identity.grants = []
        identity.operations = [(index % SERVICES, 0)]
        identities.append(identity)
    return identities


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def write_entitlements(path, rng, identities, as_of):
    header = ["identity", "identity_type", "owner", "consumers", "environment", "service", "action",
              "method", "endpoint", "risk", "granted_at", "status", "revoked_at", "credential_id",
              "credential_created_at", "credential_rotated_at", "credential_expires_at",
              "credential_revoked_at"]
    grants = 0
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for index, identity in enumerate(identities):
            if not identity.known:
                continue
            owner = "" if index % 211 == 5 else f"team-{index % 300:03d}"
            created = as_of - dt.timedelta(days=400 + index % 300)
            # One identity in 200 was last rotated more than 90 days ago.
            rotated = as_of - dt.timedelta(days=(120 if index % 200 == 7 else 10 + index % 70))
            expires = "" if identity.kind == "api_key" and index % 97 == 0 else iso(as_of + dt.timedelta(days=200))
            revoked = iso(identity.revoked_at) if identity.revoked_at else ""
            for service, operation, style in identity.grants:
                verb, method, template = OPERATIONS[operation]
                name = service_name(service)
                short = name.split("-")[0]
                action, grant_method, endpoint = "", "", ""
                if style < 0.6:
                    action = f"{short}:{verb}"
                elif style < 0.97:
                    grant_method = method
                    endpoint = template.format(svc=short, id="{item_id}")
                else:
                    action = f"{short}:*"
                granted = as_of - dt.timedelta(days=rng.randint(100, 700))
                risk = "high" if verb == "admin" and index % 50 == 0 else "low"
                writer.writerow([identity.name, identity.kind, owner, "", identity.env, name, action,
                                 grant_method, endpoint, risk, iso(granted), "active", "",
                                 identity.credential, iso(created), iso(rotated), expires, revoked])
                grants += 1
    return grants


def write_tests(path, rng, identities, as_of):
    header = ["test_id", "executed_at", "identity", "credential_id", "credential_state", "environment",
              "service", "method", "endpoint", "action", "expected", "status_code", "auth_path",
              "response_excerpt", "request_id", "trace_id", "risk"]
    rows = 0
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for service in range(SERVICES):
            short = service_name(service).split("-")[0]
            identity = identities[service]
            for run in range(6):
                executed = as_of - dt.timedelta(days=7 + 14 * run, hours=3)
                for state, expected, status in [("valid", "allow", 200), ("expired", "deny", 401),
                                                ("revoked", "deny", 401), ("missing", "deny", 401),
                                                ("insufficient_scope", "deny", 403)]:
                    if service % 17 == 3 and state == "expired" and run < 2:
                        status = 200  # planted: an expired token accepted
                    verb, method, template = OPERATIONS[0]
                    endpoint = template.format(svc=short, id=str(1000 + run))
                    name = "" if state == "missing" else identity.name
                    writer.writerow([f"{short}-{state}-r{run}", iso(executed), name, identity.credential,
                                     state, identity.env, service_name(service), method, endpoint,
                                     f"{short}:{verb}", expected, status, "oauth2", "", "", "", "low"])
                    rows += 1
    return rows


def write_events(path, rng, identities, events, days, as_of):
    start = as_of - dt.timedelta(days=days)
    span_ms = days * 86_400_000
    active = [identity for identity in identities if not identity.dormant]
    # Heavier users first: a Zipf-like weight keeps a long tail of quiet identities.
    weights = [1.0 / (1 + (rank % 1000)) ** 0.6 for rank in range(len(active))]
    cumulative = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    chosen = rng.choices(range(len(active)), cum_weights=cumulative, k=events)
    dates = [(start + dt.timedelta(days=day)).strftime("%Y-%m-%d") for day in range(days)]
    with open(path, "w", buffering=1 << 20) as handle:
        lines = []
        for number, pick in enumerate(chosen):
            identity = active[pick]
            if identity.rogue and rng.random() < 0.05:
                service, operation = identity.services[0], 7  # admin: rarely granted
            else:
                service, operation = rng.choice(identity.operations)
            verb, method, template = OPERATIONS[operation]
            name = service_name(service)
            short = name.split("-")[0]
            endpoint = template.format(svc=short, id=str(rng.randrange(1, 10_000_000)))
            # Times are uniform over the days, so an identity whose credential was
            # revoked keeps using it afterwards (revoked-credential-used).
            offset_ms = rng.randrange(span_ms)
            day, ms_of_day = divmod(offset_ms, 86_400_000)
            seconds, ms = divmod(ms_of_day, 1000)
            minutes, second = divmod(seconds, 60)
            hour, minute = divmod(minutes, 60)
            moment = f"{dates[day]}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"
            denied = rng.random() < 0.015
            decision, status = ("deny", 403) if denied else ("allow", 200)
            # Real logs leave out empty fields.
            reason = f'"reason":"{rng.choice(REASONS)}",' if denied else ""
            trace = f'"trace_id":"trace-{number // 3:010d}",' if rng.random() < 0.005 else ""
            source = identity.sources[number % len(identity.sources)]
            lines.append(
                f'{{"event_time":"{moment}","identity":"{identity.name}",'
                f'"credential_id":"{identity.credential}","source":"{source}",'
                f'"user_agent":"{identity.agent}","environment":"{identity.env}",'
                f'"service":"{name}","method":"{method}","endpoint":"{endpoint}",'
                f'"action":"{short}:{verb}","decision":"{decision}","status_code":{status},'
                f'{reason}{trace}"request_id":"req-{number:012d}",'
                f'"auth_path":"{identity.auth}"}}\n'
            )
            if len(lines) == 100_000:
                handle.write("".join(lines))
                lines.clear()
        handle.write("".join(lines))


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    as_of = dt.datetime.fromisoformat(args.as_of)
    identities = build_identities(rng, args.identities, args.grants_per_identity, as_of)
    if not args.no_entitlements:
        grants = write_entitlements(os.path.join(args.out, "entitlements.csv"), rng, identities, as_of)
        tests = write_tests(os.path.join(args.out, "tests.csv"), rng, identities, as_of)
        print(f"{args.identities} identities, {grants} grants, {tests} tests")
    write_events(os.path.join(args.out, "events.jsonl"), random.Random(args.seed + 1), identities,
                 args.events, args.days, as_of)
    print(f"{args.events} events over {args.days} day(s) in {args.out}/events.jsonl")


if __name__ == "__main__":
    main()
