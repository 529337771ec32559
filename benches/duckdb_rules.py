#!/usr/bin/env python3
"""Compute undocumented-access and unused-entitlement in DuckDB SQL, as the
benchmark's baseline, and print the number of findings of each.

    duckdb_rules.py EVENTS ENTITLEMENTS [--as-of 2026-11-30T00:00:00Z] [--threads 2]

EVENTS is a JSON Lines or Parquet file or glob of native access log columns.
Grant patterns are turned into regular expressions and joined with the distinct
operations of each identity, as corroborate matches them (docs/inputs.md),
with these simplifications in DuckDB's favour: a grant's validity is judged at
the first event of each distinct operation (corroborate splits rows at every
grant and credential boundary), and only RFC 3339 `event_time` text is read.

Also: `duckdb_rules.py to-parquet EVENTS.jsonl OUT.parquet` converts native JSON
Lines to Parquet with `event_time` as a UTC timestamp.
"""

import argparse
import sys
import time

import duckdb

LOG_COLUMNS = (
    "{event_time: 'VARCHAR', identity: 'VARCHAR', credential_id: 'VARCHAR', source: 'VARCHAR', "
    "user_agent: 'VARCHAR', environment: 'VARCHAR', service: 'VARCHAR', method: 'VARCHAR', "
    "endpoint: 'VARCHAR', action: 'VARCHAR', decision: 'VARCHAR', status_code: 'INTEGER', "
    "reason: 'VARCHAR', request_id: 'VARCHAR', trace_id: 'VARCHAR', auth_path: 'VARCHAR'}"
)

MACROS = r"""
-- The endpoint template of docs/inputs.md: digit, UUID and long id segments become {id}.
CREATE MACRO path_template(p) AS array_to_string(list_transform(string_split(p, '/'), lambda s:
    CASE WHEN regexp_full_match(s, '[0-9]+')
           OR regexp_full_match(s, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
           OR (length(s) >= 16 AND regexp_full_match(s, '[A-Za-z0-9]+') AND regexp_matches(s, '[0-9]'))
         THEN '{id}' ELSE s END), '/');
-- Regular-expression metacharacters other than `*` escaped.
CREATE MACRO regex_escape(p) AS regexp_replace(p, '([.+?^$()|\[\]\\])', '\\\1', 'g');
-- Action globs: case-insensitive, `*` is any run of characters.
CREATE MACRO action_regex(p) AS '(?i)' || replace(regex_escape(p), '*', '.*');
-- Path globs: `{name}` and `*` are one segment, `**` zero or more segments.
CREATE MACRO path_regex(p) AS replace(replace(replace(
    regexp_replace(regex_escape(rtrim(p, '/')), '\{[^/}]*\}', '[^/]+', 'g'),
    '/**', chr(1)), '*', '[^/]*'), chr(1), '(/.*)?');
"""


def source(path):
    if path.endswith(".parquet"):
        return f"read_parquet('{path}')"
    return f"read_json('{path}', format = 'newline_delimited', columns = {LOG_COLUMNS})"


def rules(args):
    connection = duckdb.connect()
    connection.execute(f"SET threads = {args.threads}")
    connection.execute(MACROS)
    as_of = f"TIMESTAMP '{args.as_of.rstrip('Z')}'"
    since = f"({as_of} - INTERVAL 90 DAY)"
    started = time.monotonic()
    connection.execute(f"""
        CREATE TABLE events AS
        SELECT identity, lower(coalesce(environment, '')) AS env, service,
               upper(coalesce(method, '')) AS method,
               rtrim(regexp_replace(coalesce(endpoint, ''), '[?#].*$', ''), '/') AS path,
               coalesce(action, '') AS action,
               coalesce(decision, CASE WHEN status_code BETWEEN 200 AND 399 THEN 'allow' END) AS decision,
               min(event_time::TIMESTAMP) AS first
        FROM {source(args.events)}
        WHERE event_time::TIMESTAMP >= {since} AND event_time::TIMESTAMP < {as_of}
        GROUP BY ALL
    """)
    connection.execute("""
        CREATE TABLE operations AS
        SELECT identity, env, service, method, path_template(path) AS endpoint, action,
               min(first) AS first
        FROM events WHERE lower(decision) = 'allow'
        GROUP BY ALL
    """)
    connection.execute(f"""
        CREATE TABLE grants AS
        SELECT row_number() OVER () AS grant_id, identity,
               lower(coalesce(environment, '')) AS env, coalesce(service, '') AS service,
               coalesce(action, '') AS action, upper(coalesce(method, '')) AS method,
               coalesce(endpoint, '') AS endpoint, granted_at::TIMESTAMP AS granted_at,
               lower(coalesce(status, 'active')) AS status, revoked_at::TIMESTAMP AS revoked_at,
               action_regex(coalesce(action, '')) AS action_pattern,
               path_regex(coalesce(endpoint, '')) AS endpoint_pattern
        FROM read_csv('{args.entitlements}', all_varchar = true)
        WHERE coalesce(service, '') <> '' OR coalesce(action, '') <> '' OR coalesce(endpoint, '') <> ''
    """)
    connection.execute("""
        CREATE TABLE coverage AS
        SELECT o.identity, o.env, o.service, o.method, o.endpoint, o.action, g.grant_id
        FROM operations o JOIN grants g USING (identity)
        WHERE (g.env IN ('', '*') OR g.env = o.env)
          AND (g.service IN ('', '*') OR g.service = o.service)
          AND (g.granted_at IS NULL OR g.granted_at <= o.first)
          AND (CASE WHEN g.revoked_at IS NOT NULL THEN o.first < g.revoked_at
                    ELSE g.status = 'active' END)
          AND ((g.action = '' AND g.endpoint = '')
               OR (g.action <> '' AND o.action <> '' AND regexp_full_match(o.action, g.action_pattern))
               OR (g.endpoint <> '' AND o.endpoint <> ''
                   AND (g.method IN ('', '*') OR list_contains(string_split(g.method, ','), o.method))
                   AND regexp_full_match(o.endpoint, g.endpoint_pattern)))
    """)
    undocumented = connection.execute("""
        SELECT count(*) FROM (
            SELECT DISTINCT o.env, o.service, o.identity,
                   CASE WHEN o.action <> '' THEN o.action ELSE o.method || ' ' || o.endpoint END
            FROM operations o
            WHERE o.identity IN (SELECT identity FROM read_csv_identities)
              AND NOT EXISTS (SELECT 1 FROM coverage c
                              WHERE c.identity = o.identity AND c.env = o.env AND c.service = o.service
                                AND c.method = o.method AND c.endpoint = o.endpoint AND c.action = o.action))
    """.replace("read_csv_identities", f"read_csv('{args.entitlements}', all_varchar = true)")).fetchone()[0]
    unused = connection.execute(f"""
        SELECT count(*) FROM grants g
        WHERE (g.granted_at IS NULL OR g.granted_at < {since})
          AND (CASE WHEN g.revoked_at IS NOT NULL THEN {as_of} < g.revoked_at ELSE g.status = 'active' END)
          AND g.grant_id NOT IN (SELECT grant_id FROM coverage)
          AND g.identity IN (SELECT DISTINCT identity FROM events)
          AND EXISTS (SELECT 1 FROM events e
                      WHERE (g.env IN ('', '*') OR g.env = e.env)
                        AND (g.service IN ('', '*') OR g.service = e.service))
    """).fetchone()[0]
    elapsed = time.monotonic() - started
    print(f"undocumented-access\t{undocumented}")
    print(f"unused-entitlement\t{unused}")
    print(f"duckdb {duckdb.__version__}: {elapsed:.2f} s", file=sys.stderr)


def to_parquet(args):
    connection = duckdb.connect()
    connection.execute(f"""
        COPY (SELECT * REPLACE (event_time::TIMESTAMPTZ AS event_time) FROM {source(args.events)})
        TO '{args.out}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
    """)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "to-parquet":
        parser = argparse.ArgumentParser(prog="duckdb_rules.py to-parquet")
        parser.add_argument("command")
        parser.add_argument("events")
        parser.add_argument("out")
        to_parquet(parser.parse_args())
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("events")
    parser.add_argument("entitlements")
    parser.add_argument("--as-of", default="2026-11-30T00:00:00Z")
    parser.add_argument("--threads", type=int, default=2)
    rules(parser.parse_args())


if __name__ == "__main__":
    main()
