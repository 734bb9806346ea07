from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "rostra.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        from rostra.core import events
        from rostra.federation import delivery
        from rostra.pipeline.tasks import deliver_now_task, run_event_task

        events.set_enqueuer(run_event_task)
        delivery.set_sender(deliver_now_task)
