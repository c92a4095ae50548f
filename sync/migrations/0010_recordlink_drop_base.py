"""RecordLink.base goes: the planner merges on each side's fields as last synced
(``a_fields``/``b_fields``), and the explain page computes a field's last synced value
from them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0009_merge_20261202_0003"),
    ]

    operations = [
        migrations.RemoveField(model_name="recordlink", name="base"),
    ]
