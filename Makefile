# Two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck install clean-var messages compile-messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# Translation catalogues (issue 19): `make messages` gathers the marked strings into
# locale/*/LC_MESSAGES/django.po (needs GNU gettext); every install compiles them.
# The tests' own strings (fake apps) are not the product's and stay out.
messages: install
	$(BIN)/python manage.py makemessages --locale it --locale pl --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --no-obsolete

compile-messages: $(VENV)/.installed
	$(BIN)/python bin/compile_messages.py

install: $(VENV)/.installed compile-messages

# The product on its embedded default: SQLite, django-q2 ORM broker, sandboxes, demo tenant.
run: install
	bash bin/run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Types of the core (pyproject.toml [tool.mypy]).
MYPY_CORE := sync connectors/base.py connectors/http.py connectors/registry.py
typecheck: install
	$(BIN)/mypy $(MYPY_CORE)

# The whole test suite; PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set.
test: lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean-var:
	rm -rf var/
