from django.db import models


class Order(models.Model):
    total = models.IntegerField()
    note = models.TextField(null=True)

    class Meta:
        indexes = [models.Index(fields=["total"], name="shop_order_total_idx")]
