"""Pre-generation hook: refuse bad answers before anything is written.

ccmlops and the tests import this module, so every rule lives here once. The only Jinja is
the constant below, and answers arrive as JSON data, never as code.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Callable, Mapping
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any

ANSWERS_JSON = r"""
{{ cookiecutter | tojson }}
"""

MAX_NAME_LENGTH = 32  # the generated code is formatted to pass ruff at 100 columns up to this
NAME_PATTERN = re.compile(r"[a-z_][a-z0-9_]*")
# The top-level modules and distribution names of a generated project's pinned dependencies
# (every part, s3 remote): a package with one of these names would shadow one or clash with
# it. Rewritten by `uv run python tests/module_names.py`; a test checks it is up to date.
TAKEN_NAMES = """
    _cffi_backend _distutils_hack _hypothesis_ftz_detector _hypothesis_globals
    _hypothesis_pytestplugin _pytest _yaml aiobotocore aiohappyeyeballs aiohttp aiohttp_retry
    aioitertools aiosignal alembic altair amqp annotated_doc annotated_types antlr4
    antlr4_python3_runtime anyio appdirs arrow asgi_correlation_id ast_serialize astroid
    asttokens asyncssh atpublic attr attrs authlib bandit billiard blinker botocore cachetools
    celery certifi cffi cfgv charset_normalizer click click_didyoumean click_plugins click_repl
    cloudpickle codecarbon colorama comm configobj contourpy coverage cpuinfo cryptography
    cycler databricks databricks_sdk dateutil debugpy dictdiffer dill diskcache distlib distro
    docker dotenv dpath dulwich dvc dvc_data dvc_http dvc_objects dvc_render dvc_s3
    dvc_studio_client dvc_task entrypoints example executing fastapi fastapi_offline
    fastjsonschema filelock flask flask_cors flatten_dict flufl flufl_lock fonttools frozenlist
    fsspec funcy git gitdb gitpython google google_auth grandalf graphene graphql graphql_core
    graphql_relay great_expectations gto gunicorn h11 hf_xet httpcore httpcore2 httpx httpx2
    huey huggingface_hub hydra hydra_core hypothesis identify idna importlib_metadata iniconfig
    ipykernel ipykernel_launcher ipython ipython_pygments_lexers isort iterative_telemetry
    itsdangerous jedi jinja2 jmespath joblib joserfc jsonschema jsonschema_specifications
    jupyter jupyter_client jupyter_core kiwisolver kombu librt mako markdown_it markdown_it_py
    markupsafe marshmallow matplotlib matplotlib_inline mccabe mdurl mistune mlflow
    mlflow_skinny mlflow_tracing mpl_toolkits multidict multipart mypy mypy_extensions mypyc
    narwhals nbclient nbformat nest_asyncio2 networkx nodeenv numpy nvidia_ml_py omegaconf
    opentelemetry opentelemetry_api opentelemetry_proto opentelemetry_sdk
    opentelemetry_semantic_conventions orjson packaging pandas papermill parso pathspec pexpect
    pillow platformdirs pluggy pre_commit prettytable prometheus_client
    prometheus_fastapi_instrumentator prompt_toolkit propcache protobuf psutil ptyprocess public
    pure_eval py py_cpuinfo pyarrow pyasn1 pyasn1_modules pycountry pycparser pydantic
    pydantic_core pydantic_settings pydevd_plugins pydot pygit2 pygments pygtrie pylab pylint
    pynvml pyparsing pytest pytest_cov python_dateutil python_discovery python_dotenv
    python_json_logger python_multipart pythonjsonlogger pyyaml pyzmq questionary rapidfuzz
    referencing requests rich rpds rpds_py ruamel ruamel_yaml ruff s3fs scikit_learn scipy
    scmrepo semver setuptools shellingham shortuuid shtab six sklearn skops smmap
    sortedcontainers sqlalchemy sqlparse sqltrie stack_data starlette stevedore tabulate
    tenacity threadpoolctl tomlkit tornado tqdm traitlets truststore typer types_pyyaml
    typing_extensions typing_inspection tzdata tzlocal urllib3 uvicorn validate vine virtualenv
    vl_convert vl_convert_python voluptuous wcwidth werkzeug wrapt yaml yarl zc zc_lockfile zipp
    zmq
"""
DEPENDENCY_NAMES = frozenset(TAKEN_NAMES.split())
RESERVED_NAMES = frozenset({"test", "tests", "src"})
FREE_TEXT_KEYS = ("project_name", "description", "author_name", "author_email")
# Control characters other than newline and tab are invalid in TOML strings.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def suggest_name(value: str) -> str:
    """A valid name close to ``value``, for the error message."""
    name = re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_")
    if not name or name[0].isdigit():
        name = f"project_{name}".rstrip("_")
    name = name[: MAX_NAME_LENGTH + 1].rsplit("_", 1)[0][:MAX_NAME_LENGTH]  # cut at a word
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in DEPENDENCY_NAMES:
        name = f"my_{name}"
    if name in sys.stdlib_module_names or name in RESERVED_NAMES:
        name = f"my_{name}"
    return name


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a folder and package name, or None when it can."""
    if not value or not value.strip():
        return "must not be empty"
    if value in {".", ".."} or any(c in value for c in "/\\:"):
        return "must not contain path characters"
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters (has {len(value)})"
    if not NAME_PATTERN.fullmatch(value):
        return "must use lowercase letters, digits and _ only, and not start with a digit"
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return "is a Python keyword"
    if value in sys.stdlib_module_names:
        return "is a standard-library module"
    if value in DEPENDENCY_NAMES:
        return "is the name of a dependency"
    if value in RESERVED_NAMES:
        return "is reserved for project folders"
    return None


def is_email(email: str) -> bool:
    """True when the build backend (hatchling) can write it into the package's metadata: it
    parses it with this same standard-library class, and fails at set-up otherwise."""
    try:
        str(Address(addr_spec=email))
    except (ValueError, HeaderParseError):
        return False
    return True


def _docker_without_serving(answers: Mapping[str, Any]) -> bool:
    return bool(answers.get("docker")) and not answers.get("serving")


# Incompatible combinations: name -> (predicate that is true when violated, explanation).
# The test matrix drops exactly these combinations.
INCOMPATIBLE_RULES: dict[str, tuple[Callable[[Mapping[str, Any]], bool], str]] = {
    "docker-needs-serving": (
        _docker_without_serving,
        "docker=true needs serving=true: the container runs the serving app",
    ),
}


def broken_rules(answers: Mapping[str, Any]) -> list[str]:
    """Names of the incompatibility rules that ``answers`` break."""
    return [name for name, (broken, _) in INCOMPATIBLE_RULES.items() if broken(answers)]


def validate(answers: Mapping[str, Any]) -> list[str]:
    """One readable line per problem with ``answers``; empty when all is well."""
    problems: list[str] = []
    for key in ("project_slug", "__package_name"):
        if key not in answers:
            continue
        value = str(answers[key])
        problem = name_problem(value)
        if problem:
            label = "project_slug" if key == "project_slug" else "package name"
            problems.append(
                f"{label} {value!r} {problem}; try {suggest_name(value)!r} "
                f"(ccmlops new project_slug={suggest_name(value)})"
            )
            break  # the package name derives from the slug: one message is enough
    if not str(answers.get("project_name", "x")).strip():
        problems.append("project_name must not be empty")
    for key in FREE_TEXT_KEYS:
        if CONTROL_CHARS.search(str(answers.get(key, ""))):
            problems.append(f"{key} contains a control character; remove it")
    if any(c in str(answers.get("author_name", "")) for c in "\r\n"):
        problems.append("author_name must be one line: the package metadata holds it")
    email = str(answers.get("author_email", ""))
    if email and not is_email(email):
        problems.append(f"author_email {email!r} is not an email address (name@example.org)")
    for name in broken_rules(answers):
        problems.append(f"incompatible options ({name}): {INCOMPATIBLE_RULES[name][1]}")
    return problems


def main() -> int:
    """Validate the rendered answers; one line per problem and exit 1 on failure."""
    answers = json.loads(ANSWERS_JSON.strip())
    problems = validate(answers)
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
