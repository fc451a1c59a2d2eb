from django.apps import AppConfig


class WorkerConfig(AppConfig):
    """The background worker: tasks, retries, periodic tasks, heartbeat (docs/architecture.md,
    "The worker")."""

    name = "worker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from datetime import timedelta

        from django_tasks.signals import task_finished

        from chatsite import health
        from worker import retries, status, tasks
        from worker.registry import register_periodic

        task_finished.connect(retries.retry_or_record_failure, dispatch_uid="worker.retries")
        health.register_report("worker", status.worker_report)
        register_periodic(tasks.prune_task_results, every=timedelta(hours=1))
