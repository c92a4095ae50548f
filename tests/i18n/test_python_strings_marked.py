"""Issue 19: a Python string that reaches a tenant or the ops console is marked for
translation. The places text is handed over are few — a page message, a form error or
label, a refusal of the wizard or the lifecycle, an admin message — so the source is
read for English text given there as it is, not through gettext."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.utils.functional import Promise

from connectors.registry import all_connectors
from tests.i18n.python_strings import ROOT

# Calls whose arguments are shown as they are: messages.success/error/…, the admin's
# message_user, form errors, the lifecycle's and setup's refusals and outcomes.
SHOWN_ARGUMENTS = {
    "success",
    "error",
    "info",
    "warning",
    "message_user",
    "add_error",
    "ValidationError",
    "PermissionDenied",
    "Refused",
    "Invalid",
    "Outcome",
}
# Keyword arguments shown as they are: a form field's label and help, an admin column.
SHOWN_KEYWORDS = {"label", "help_text", "description", "verbose_name", "empty_label"}
SOURCES = (
    "sync/admin.py",
    "sync/lifecycle.py",
    "sync/models.py",
    "sync/setup.py",
    "sync/users.py",
    "sync/web",
)
LOGGERS = {"logger", "logging"}
WORDS = re.compile(r"[A-Za-z]{2,}")
IDENTIFIER = re.compile(r"^[a-z_]+$")  # a field's name ("username"), not words


def _is_english(node: ast.expr) -> bool:
    """A literal or f-string with words in it (not a gettext call, not a field name)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORDS.search(node.value)) and not IDENTIFIER.match(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_is_english(part) for part in node.values if isinstance(part, ast.Constant))
    return False


def unmarked(source: str) -> list[tuple[int, str]]:
    """(line, text) of each English text handed over without gettext in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") in LOGGERS:
            continue  # the logs are the operators', in English
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        shown = [*node.args] if name in SHOWN_ARGUMENTS else []
        shown += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        found += [(arg.lineno, ast.unparse(arg)) for arg in shown if _is_english(arg)]
    return found


def test_the_check_finds_english_given_as_it_is() -> None:
    source = (
        "messages.success(request, f'{n} contact(s) linked.')\n"
        "form.add_error('username', 'This user name is taken.')\n"
        "raise Refused('Start the connection first.')\n"
        "name = forms.CharField(help_text='For example CRM.')\n"
        "messages.error(request, gettext('Choose a role.'))\n"
        "logger.warning('%s of %s failed', hook, pk)\n"
        "form.add_error('username', gettext('Taken.'))\n"
    )

    assert [line for line, _text in unmarked(source)] == [1, 2, 3, 4]


def test_every_python_string_shown_to_tenants_and_ops_is_marked() -> None:
    paths = [
        path
        for source in SOURCES
        for path in ([ROOT / source] if source.endswith(".py") else (ROOT / source).rglob("*.py"))
    ]
    found = {
        f"{Path(path).relative_to(ROOT)}:{line}": text
        for path in paths
        for line, text in unmarked(Path(path).read_text())
    }

    assert len(paths) > 15
    assert found == {}


def test_every_connectors_name_description_and_form_labels_are_marked() -> None:
    """The apps catalogue and the connect form show them; gettext_lazy at class level,
    since a connector class is imported before any request chooses a language."""
    unmarked = [
        (vendor, str(text))
        for vendor, cls in all_connectors().items()
        if cls.__module__.startswith("connectors.")  # not the tests' fake app
        for text in (cls.label, cls.description, *(label for _n, label, _s in cls.auth_fields))
        if text and not isinstance(text, Promise)
    ]

    assert unmarked == []
