"""A column: ALTER TABLE … ADD COLUMN, in the migration's transaction."""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField(model_name="order", name="note", field=models.TextField(null=True)),
    ]
