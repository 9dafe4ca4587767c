"""An index, outside a transaction (atomic = False): sqlmigrate prints no BEGIN/COMMIT, and each statement
runs in a transaction of its own."""
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0002_order_note")]
    operations = [
        migrations.AddIndex(model_name="order", index=models.Index(fields=["total"], name="shop_order_total_idx")),
    ]
