"""Run the named queries in queries/*.sql with their parameters bound as DuckDB variables.

Each file starts with a comment header: the first line `-- NAME: what it returns`, then one
`-- @param NAME TYPE = DEFAULT  description` line per parameter (DEFAULT NULL means "all"). The
runner binds every declared parameter with `SET VARIABLE name = CAST(? AS TYPE)` — values travel
as prepared-statement parameters, never pasted into SQL text — then runs the file unchanged, so
the same file runs in the DuckDB CLI after `SET VARIABLE`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from classfreq.errors import UserError

QUERY_DIR = Path(__file__).parent
PARAM_LINE = re.compile(r"^--\s*@param\s+(?P<name>[a-z_][a-z0-9_]*)\s+(?P<type>[A-Z]+)\s*=\s*"
                        r"(?P<default>\S+)\s*(?P<help>.*)$")
TYPES = {"VARCHAR": str, "INTEGER": int, "BIGINT": int, "DOUBLE": float, "BOOLEAN": bool}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: object
    help: str


@dataclass(frozen=True)
class Query:
    name: str
    path: Path
    summary: str
    description: str
    params: dict[str, Param] = field(default_factory=dict)

    @property
    def sql(self) -> str:
        return self.path.read_text()


def _convert(value, type_: str, what: str):
    if value is None:
        return None
    if isinstance(value, str) and value.upper() == "NULL":
        return None
    py = TYPES[type_]
    if py is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        raise UserError(f"{what} must be true or false, not {value!r}")
    try:
        return py(value)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be {'a whole number' if py is int else 'a number'}, not {value!r}") from None


def parse_query(path: Path) -> Query:
    header, params = [], {}
    for line in path.read_text().splitlines():
        if not line.startswith("--"):
            break
        m = PARAM_LINE.match(line)
        if m:
            if m["type"] not in TYPES:
                raise ValueError(f"{path.name}: parameter type {m['type']} is not one of {sorted(TYPES)}")
            params[m["name"]] = Param(m["name"], m["type"],
                                      _convert(m["default"], m["type"], f"default of {m['name']}"),
                                      m["help"].strip())
        else:
            header.append(line[2:].strip())
    first = header[0] if header else path.stem
    name, _, summary = first.partition(":")
    if name.strip() != path.stem:
        raise ValueError(f"{path.name}: the header must start with '-- {path.stem}: ...'")
    return Query(path.stem, path, summary.strip(), "\n".join(header[1:]), params)


def list_queries(directory: Path = QUERY_DIR) -> dict[str, Query]:
    return {p.stem: parse_query(p) for p in sorted(directory.glob("*.sql")) if p.name != "schema.sql"}


def get_query(name: str, directory: Path = QUERY_DIR) -> Query:
    queries = list_queries(directory)
    if name not in queries:
        raise UserError(f"no query named {name!r}; the queries are: {', '.join(queries)}")
    return queries[name]


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """['k=v', ...] from the command line into a dict (the value may contain '=' and quotes)."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--param {pair!r} must look like NAME=VALUE")
        out[key.strip()] = value
    return out


def bind_params(con: duckdb.DuckDBPyConnection, query: Query, params: dict | None = None) -> dict:
    """SET VARIABLE for every declared parameter (given value or default); returns the values bound."""
    params = dict(params or {})
    unknown = set(params) - set(query.params)
    if unknown:
        raise UserError(f"query {query.name!r} has no parameter {sorted(unknown)[0]!r}; its parameters are: "
                        f"{', '.join(query.params) or 'none'}")
    bound = {}
    for name, p in query.params.items():
        value = _convert(params[name], p.type, f"--param {name}") if name in params else p.default
        con.execute(f"SET VARIABLE {name} = CAST(? AS {p.type})", [value])
        bound[name] = value
    return bound


def run_query(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None,
              directory: Path = QUERY_DIR) -> pd.DataFrame:
    """Run one named query on `con` with `params` bound; returns its rows."""
    query = get_query(name, directory)
    bind_params(con, query, params)
    try:
        return con.execute(query.sql).fetchdf()
    finally:
        for p in query.params:  # leave no state behind on a shared connection
            con.execute(f"RESET VARIABLE {p}")
