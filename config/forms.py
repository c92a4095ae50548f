"""How Django renders the tenant pages' forms: every error is printed once, in the summary
above the form (templates/web/_form_errors.html, which links each message to its field);
the form and its field groups mark the invalid inputs (aria-invalid) but do not repeat
the messages."""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """The project templates' renderer (TEMPLATES, so templates/forms/ is found; Django's
    widget templates come from the django.forms app) with our form and field group."""

    form_template_name = "forms/div.html"
    field_template_name = "forms/field.html"
