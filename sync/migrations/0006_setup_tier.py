"""Account.plan becomes Account.tier (the pricing tier; "plan" is the planner's word).
A rename: every account keeps its value."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0005_scope_labels"),
    ]

    operations = [
        migrations.RenameField(model_name="account", old_name="plan", new_name="tier"),
    ]
