"""A data migration: Python code (RunPython), which sqlmigrate cannot write as SQL."""
from django.db import migrations


def fill_note(apps, schema_editor):
    """Every order without a note gets an empty one."""
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(note__isnull=True).update(note="")


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_order_total_index")]
    operations = [
        migrations.RunPython(fill_note, migrations.RunPython.noop),
    ]
