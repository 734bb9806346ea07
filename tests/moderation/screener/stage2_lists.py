"""Posts for the stage-2 tests, written for them: not in the training data (a test checks), and
never used to choose the encoder, the heads, the mixing weight or the bands (those were chosen
on the validation split alone).

``LOOK_ALIKES`` are benign posts that borrow the words of threats — idioms, negation, quotation
to condemn, news, sport, cooking, tools — the weakness of a bag of n-grams. ``THREATS`` are real
threats and incitement, several of them without the obvious trigger words.
"""

from __future__ import annotations

LOOK_ALIKES = [
    "kill the engine before you refuel",
    "please kill the power at the fuse box before touching the wiring",
    "I could strangle a cup of tea right now",
    "we absolutely butchered that song at karaoke 😂",
    "nobody is going to hurt you here, you're safe with us",
    "he said 'I'll break your legs' to my brother and we reported it straight away",
    "threatening to shoot someone is never a joke. report it",
    "the recipe says to beat the butter and sugar until pale",
    "our keeper murdered the ball into the top corner from a free kick",
    "the film's final shootout is beautifully choreographed",
    "that exam absolutely destroyed me, going to bed",
    "my phone battery is dying again, charger anyone?",
    "they bombed the audition but they're trying again next year",
    "grandad fought in the war and never talked about it",
    "the axe throwing place on the high street is brilliant fun",
    "the hunting season opens next week, wear orange on the trails",
    "fire the starting pistol at nine sharp please, volunteers",
    "three cancelled trains, this commute is slowly killing me",
    "I'd never wish violence on anyone, even him",
    "violence is never the answer, talk to each other",
    "the memorial for the shooting victims is at noon on saturday",
    "a man was stabbed near the station last night, police are appealing for witnesses",
    "we need to kill this rumour before it spreads",
    "my knife skills class starts tonight, finally learning to dice onions",
    "she's a killer poker player, cleaned us all out",
]

THREATS = [
    "I will kill you the next time I see you @dorian_f",
    "@wren_p I know which bus you take home. you won't make it to your door",
    "we should burn their houses down while they sleep",
    "bring a knife to the meeting tomorrow and stab him in front of everyone",
    "if you testify I'll make sure you disappear @calloway_r",
    "someone needs to shoot that judge, I'd do it myself",
    "tonight we go after the refugees at the shelter, bring bats",
    "I'm going to run my car into the protest on saturday",
    "you'd better watch your daughter on her walk to school @mirren_k",
    "I'll beat you until you can't stand up again @tobias_g",
    "the next school shooter should finish the job properly",
    "I'm going to put rat poison in my housemate's dinner",
    "I'll set fire to your shop with you locked inside @hallam_b",
    "line them up and shoot every one of those protesters",
    "@quill_s you're going to wake up with your throat cut",
]
