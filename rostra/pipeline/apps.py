from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "rostra.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        from rostra.core import events
        from rostra.pipeline.tasks import run_event_task

        events.set_enqueuer(lambda event_id: run_event_task(event_id))
