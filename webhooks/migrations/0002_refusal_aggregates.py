"""Refused deliveries become counts per partner, reason and minute (the old one-row-per-refusal table
is dropped: it held no body, only when, why and from where, and anyone could fill it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0001_initial"),
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="WebhookRejection"),
        migrations.CreateModel(
            name="WebhookRejection",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("bad_signature", "Bad Signature"),
                            ("missing_signature", "Missing Signature"),
                            ("too_large", "Too Large"),
                            ("malformed", "Malformed"),
                            ("too_old", "Too Old"),
                            ("unknown_partner", "Unknown Partner"),
                        ],
                        max_length=32,
                    ),
                ),
                ("minute", models.DateTimeField(help_text="The start of the minute these refusals fell in.")),
                ("count", models.PositiveIntegerField(default=0)),
                ("last_at", models.DateTimeField()),
                ("last_addresses", models.JSONField(blank=True, default=list)),
                (
                    "partner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhook_rejections",
                        to="partners.partner",
                    ),
                ),
            ],
            options={
                "ordering": ["-minute", "reason"],
                "indexes": [models.Index(fields=["partner", "-minute"], name="webhook_reject_partner")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(partner__isnull=False),
                        fields=("partner", "reason", "minute"),
                        name="webhook_reject_bucket",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(partner__isnull=True),
                        fields=("reason", "minute"),
                        name="webhook_reject_bucket_no_partner",
                    ),
                ],
            },
        ),
    ]
