"""The QA app's first migration: empty, so that notes and scorecards each start from it."""

from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = []
