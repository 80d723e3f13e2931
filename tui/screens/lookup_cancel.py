"""The lookup screen's cancels: the dialog, then the core's lifecycle in a worker, each event
rendered by the breakdown panel; ``r`` re-checks or retries as the core says
(:func:`tui.core.lifecycle.follow_up`). No policy here: the core decides what is sent."""


from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual import on, work
from textual.screen import Screen

from tui import messages as msg
from tui.core.text import clean
from tui.core.vocabulary import NextStep
from tui.host import ConsoleHost, host
from tui.widgets.breakdown import BreakdownPanel
from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.domain import CancelRequest, Order
    from tui.core.floor import FloorNote
    from tui.core.lifecycle import Done, NotSent


log = logging.getLogger("stopline.console")


class LookupCancelling(Screen[None]):
    """The cancel half of :class:`~tui.screens.lookup.LookupScreen` (mixed into it)."""

    identifier: str
    cancel_busy: bool
    last_request: CancelRequest | None
    last_final: Done | NotSent | None
    cancel_error: str | None
    last_failure: Literal["lookup"] | None

    @property
    def stopline(self) -> ConsoleHost:
        return host(self)

    @property
    def breakdown(self) -> BreakdownPanel:
        return self.query_one(BreakdownPanel)

    def highlighted_order(self) -> Order | None:
        raise NotImplementedError

    def cancel_blocker(self) -> str | None:
        raise NotImplementedError

    def floor_note(self, key: str | None) -> FloorNote | None:
        raise NotImplementedError

    def start_lookup(self, identifier: str) -> None:
        raise NotImplementedError

    def _refresh_keys(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        blocker = self.cancel_blocker()
        order = self.highlighted_order()
        if blocker is not None or order is None:
            self.notify(blocker or "nothing to cancel", severity="warning", timeout=3)
            return
        from tui.screens.cancel_dialog import CancelDialog

        context = self.stopline.cancel_context(order)
        note = self.floor_note(self.highlighted)
        if note is not None:
            # Before anyone types a reason: what the floor has done with this order already.
            context = replace(context, journal_note=note.words)
        self.app.push_screen(CancelDialog(order, context), callback=self._dialog_closed)

    def _dialog_closed(self, request: CancelRequest | None) -> None:
        if request is not None:
            self.send_cancel(request)

    def send_cancel(self, request: CancelRequest) -> None:
        self.cancel_busy = True
        self.last_request = request
        self.last_final = None
        self.cancel_error = None
        info = self.stopline.provider_info(request.provider)
        label = info.label if info else request.provider
        self.breakdown.sending(request, label, self.stopline.is_async(request))
        order = clean(request.order_id, max_chars=64)

        def words() -> str:
            if self.breakdown.phase == "confirming":
                return (
                    f"the cancel of order {order} at {label} was initiated and is being "
                    "confirmed: quitting stops the checking (r in the history re-checks it)"
                )
            return (
                f"the cancel of order {order} at {label} is in flight: quitting now may "
                "leave it unknown in the journal until it is re-checked"
            )

        self.stopline.hold_work("cancel", words)
        self._refresh_keys()
        self.run_cancel(request)

    def _cancel_settled(self) -> None:
        self.cancel_busy = False
        self.stopline.release_work("cancel")

    @work(group="cancel", exit_on_error=False)
    async def run_cancel(self, request: CancelRequest) -> None:
        """The cancel's lifecycle, each event posted as it happens (the core decides what is
        sent, confirmed or reconciled; this screen only shows it)."""
        from tui.core.identifiers import InvalidInput

        service = self.stopline.service
        assert service is not None
        try:
            async for event in service.cancel_events(request, confirm=True):
                self.post_message(msg.CancelProgress(event))
        except InvalidInput as exc:
            self.post_message(msg.CancelFailed(request, str(exc)))
        except Exception as exc:
            log.exception("cancel of %s at %s failed", request.order_id, request.provider)
            self.post_message(msg.CancelFailed(request, f"{type(exc).__name__}: {exc}"))

    @work(group="cancel", exit_on_error=False)
    async def run_recheck(self, request: CancelRequest, attempt_id: int) -> None:
        """Reconcile the attempt by look-up and record what it shows (never a re-send)."""
        service = self.stopline.service
        assert service is not None
        try:
            result = await service.recheck(attempt_id)
        except Exception as exc:
            log.exception("re-check of attempt %s failed", attempt_id)
            self.post_message(msg.CancelRechecked(request, None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(msg.CancelRechecked(request, result))

    @on(msg.CancelProgress)
    def _cancel_progress(self, message: msg.CancelProgress) -> None:
        from tui.core.lifecycle import Answered, Done, NotSent, Sending, Updated

        event = message.event
        if isinstance(event, Sending):
            self.breakdown.sent(event.request, event.notes)
        elif isinstance(event, Answered):
            self.breakdown.answered(event.outcome, will_confirm=event.confirming)
        elif isinstance(event, Updated):
            self.breakdown.confirmation(event.outcome, final=False)
        elif isinstance(event, Done):
            self.breakdown.done(event.outcome)
            self._cancel_ended(event)
        elif isinstance(event, NotSent):
            self.breakdown.not_sent(event)
            self._cancel_ended(event)

    @on(msg.CancelFailed)
    def _cancel_failed(self, message: msg.CancelFailed) -> None:
        self.breakdown.failed(message.error)
        self._cancel_settled()
        self.cancel_error = message.error
        self._refresh_keys()

    @on(msg.CancelRechecked)
    def _cancel_rechecked(self, message: msg.CancelRechecked) -> None:
        from tui.core.lifecycle import Done

        self.cancel_busy = False
        if message.result is None:
            self.breakdown.recheck_failed(message.error or "re-check failed")
            self._refresh_keys()
            return
        self.breakdown.rechecked(message.result)
        self.last_final = Done(message.request, message.result.attempt.as_outcome())
        self._refresh_keys()
        if self.identifier and message.result.verdict.ended:
            self.start_lookup(self.identifier)  # show the order as the provider has it now

    def _cancel_ended(self, final: Done | NotSent) -> None:
        from tui.core.lifecycle import NextStep, follow_up

        self._cancel_settled()
        self.last_final = final
        self._refresh_keys()
        step, _ = follow_up(final)
        if self.identifier and step is NextStep.NONE:
            # Show the order as the provider now has it.
            self.start_lookup(self.identifier)

    def cancel_step(self) -> NextStep:
        """What ``r`` would do for the latest cancel (the core's rule, not this screen's)."""
        from tui.core.lifecycle import NextStep, follow_up

        if self.cancel_busy:
            return NextStep.NONE
        if self.cancel_error is not None and self.last_request is not None:
            return NextStep.RETRY
        if self.last_final is None:
            return NextStep.NONE
        return follow_up(self.last_final)[0]

    def action_retry(self) -> None:
        from tui.core.lifecycle import NextStep, follow_up

        step = self.cancel_step()
        if step is NextStep.RECHECK and self.last_final is not None:
            _, attempt_id = follow_up(self.last_final)
            assert attempt_id is not None and self.last_request is not None
            self.cancel_busy = True
            self.breakdown.checking()
            self._refresh_keys()
            self.run_recheck(self.last_request, attempt_id)
        elif step is NextStep.RETRY and self.last_request is not None:
            self.ask_resend(self.last_request)
        elif self.last_failure == "lookup" and self.identifier:
            self.start_lookup(self.identifier)
        else:
            self.notify("Nothing failed; nothing to retry.", timeout=2)

    def ask_resend(self, request: CancelRequest) -> None:
        """A cancel that provably did not apply (or was never sent) may go again: ask."""
        from tui.screens.confirm import ConfirmScreen

        info = self.stopline.provider_info(request.provider)
        label = info.label if info else request.provider
        question = Text.assemble(
            "Send the cancel of order ",
            t(request.order_id, "bold"),
            f" to {label} again?",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.send_cancel(request)

        self.app.push_screen(ConfirmScreen(question), callback=answered)
