from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "rostra.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        from rostra.core import events
        from rostra.pipeline.tasks import run_event_task

        events.set_enqueuer(run_event_task)
