import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_moved_and_aliases")]

    operations: list[migrations.operations.base.Operation] = [
        # Existing accounts start active (the default is applied to every row once).
        migrations.AddField(
            model_name="account",
            name="last_active_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
    ]
