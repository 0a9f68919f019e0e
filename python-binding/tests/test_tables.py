"""The package's declarations against the repository's shared tables.

- ``_errors.py``: one class per code of ``tests/error_codes.json`` (no code claimed by two
  classes, which ``error_class`` would hide), registered for ``error_class(code)`` and exported by
  ``__all__`` (the module's and the package's). ``test_api.py`` checks each class's status and
  message and ``ERROR_CODES`` against the same file.
- ``_native.pyi``'s ``Verified`` (and the native class) against ``tests/verified_fields.json``.
- ``_native.pyi``'s ``Guard(...)`` keywords and ``add_key`` fields against the core's option
  table (``CONFIG_FIELDS``): the stub lists every option the core takes, in its Python spelling.

The sources are read with :mod:`ast`, so a duplicate or a mistyped declaration is seen as written.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import hmac_guard as hg
from hmac_guard import _errors, _native

from conftest import REPO, load_json

PACKAGE = Path(hg.__file__).resolve().parent
FIELDS: dict[str, Any] = load_json(REPO / "tests" / "verified_fields.json")


def _tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / name).read_text(encoding="utf-8"), filename=name)


def _declared_codes() -> dict[str, list[str]]:
    """``code -> [class names]`` for every ``class X(...): code = "ERR_..."`` in ``_errors.py``
    (the base class's default, the fallback for an unknown code, is not a registration)."""
    found: dict[str, list[str]] = {}
    for node in _tree("_errors.py").body:
        if not isinstance(node, ast.ClassDef) or node.name == "HmacGuardError":
            continue
        for stmt in node.body:
            value: ast.expr | None
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AnnAssign):
                target, value = stmt.target, stmt.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id == "code" and value is not None:
                assert isinstance(value, ast.Constant), f"{node.name}.code is not a literal"
                found.setdefault(str(value.value), []).append(node.name)
    return found


def _all_error_classes() -> list[type[hg.HmacGuardError]]:
    out: list[type[hg.HmacGuardError]] = []
    todo = [hg.HmacGuardError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo += cls.__subclasses__()
    return out


def test_each_error_code_has_exactly_one_class(error_codes: list[dict[str, Any]]) -> None:
    codes = [e["code"] for e in error_codes]
    declared = _declared_codes()
    twice = {code: names for code, names in declared.items() if len(names) > 1}
    assert not twice, f"_errors.py: a code claimed by more than one class: {twice}"
    assert sorted(declared) == sorted(codes), "codes with a class in _errors.py vs. tests/error_codes.json"
    # At run time: the class that claims a code (in its own body) is the one error_class returns.
    claiming = [c for c in _all_error_classes() if c is not hg.HmacGuardError and "code" in vars(c)]
    assert sorted(c.code for c in claiming) == sorted(codes)
    for cls in claiming:
        assert hg.error_class(cls.code) is cls, cls.code
        assert cls.__module__ == _errors.__name__, f"{cls.__name__} is defined outside _errors.py"


def test_every_error_class_is_exported(error_codes: list[dict[str, Any]]) -> None:
    for entry in error_codes:
        name = hg.error_class(entry["code"]).__name__
        assert name in _errors.__all__, f"{name} ({entry['code']}) is missing from hmac_guard._errors.__all__"
        assert name in hg.__all__, f"{name} ({entry['code']}) is missing from hmac_guard.__all__"
        assert getattr(hg, name) is hg.error_class(entry["code"]), f"hmac_guard.{name}"
    # Every exception class of _errors.py (categories included) is exported, and nothing else.
    # (Adapters' own subclasses, such as hmac_guard.asgi.ClientDisconnected, live elsewhere.)
    classes = {c.__name__ for c in _all_error_classes() if c.__module__ == _errors.__name__}
    assert set(_errors.__all__) == classes | {"error_class"}
    assert set(_errors.__all__) <= set(hg.__all__)


def _stub_members(class_name: str) -> tuple[list[str], list[str]]:
    """A class of ``_native.pyi``: its ``@property`` names (``name?`` when the annotation allows
    ``None``) and its other method names, in order."""
    found = [n for n in _tree("_native.pyi").body if isinstance(n, ast.ClassDef) and n.name == class_name]
    assert len(found) == 1, f"_native.pyi: exactly one class {class_name}"
    properties: list[str] = []
    methods: list[str] = []
    for node in found[0].body:
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = {ast.unparse(d) for d in node.decorator_list}
        if "property" in decorators:
            returns = ast.unparse(node.returns) if node.returns is not None else ""
            union = {part.strip() for part in returns.split("|")}
            optional = "None" in union or returns.startswith("Optional[")
            properties.append(f"{node.name}?" if optional else node.name)
        elif not node.name.startswith("_"):
            methods.append(node.name)
    return properties, methods


def test_verified_stub_declares_the_shared_field_list() -> None:
    properties, methods = _stub_members("Verified")
    expected = [f"{f['python']}?" if f["optional"] else f["python"] for f in FIELDS["fields"]]
    what = "_native.pyi Verified properties (name? = may be None) vs. tests/verified_fields.json"
    assert properties == expected, what
    assert methods == [m["python"] for m in FIELDS["methods"]], "_native.pyi Verified methods"


def test_native_verified_class_has_the_shared_field_list() -> None:
    cls = _native.Verified
    public = {name for name in dir(cls) if not name.startswith("_")}
    fields = {f["python"] for f in FIELDS["fields"]}
    methods = {m["python"] for m in FIELDS["methods"]}
    assert public == fields | methods, "the native Verified's attributes vs. tests/verified_fields.json"
    for name in fields:
        assert inspect.isdatadescriptor(getattr(cls, name)), f"Verified.{name} is a read-only attribute"
    for name in methods:
        assert callable(getattr(cls, name)), f"Verified.{name}()"


def _stub_keywords(class_name: str, method: str) -> list[str]:
    """The keyword-only parameter names of a method of a ``_native.pyi`` class."""
    cls = next(n for n in _tree("_native.pyi").body if isinstance(n, ast.ClassDef) and n.name == class_name)
    fn = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == method)
    return [a.arg for a in fn.args.kwonlyargs]


def test_guard_stub_declares_every_option_of_the_core() -> None:
    options = sorted(name for id_, name in _native.CONFIG_FIELDS if not id_.startswith("key."))
    assert sorted(_stub_keywords("Guard", "__new__")) == options, "_native.pyi Guard(...) vs. CONFIG_FIELDS"
    key_fields = sorted(name for id_, name in _native.CONFIG_FIELDS if id_.startswith("key."))
    add_key = sorted(["id", "secret", *_stub_keywords("Guard", "add_key")])
    assert add_key == key_fields, "_native.pyi Guard.add_key vs. CONFIG_FIELDS key fields"
