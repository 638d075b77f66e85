"""Common English given names by gender, so he/she can skip a person of the other gender (a coreference feature)."""

from __future__ import annotations

FEMALE = frozenset("""
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa betty margaret sandra ashley
kimberly emily donna michelle dorothy carol amanda melissa deborah stephanie rebecca sharon laura cynthia kathleen
amy shirley angela helen anna brenda pamela nicole emma samantha katherine christine debra rachel catherine carolyn
janet ruth maria heather diane virginia julie joyce victoria olivia kelly christina lauren joan evelyn judith megan
cheryl andrea hannah martha jacqueline frances gloria ann teresa kathryn sara janice jean alice madison doris abigail
julia judy grace denise amber marilyn beverly danielle theresa sophia marie diana brittany natalie isabella charlotte
rose alexis kayla hillary chelsea loretta nikki condoleezza madeleine nancy elaine donna kellyanne huma sheryl janet
angela theresa christine elena ruth sonia nina kamala tulsi jill michele claire dianne barbara kirsten tammy maxine
nancy sheila ivanka melania sally valerie samantha susan carly sarah kelly
""".split())

MALE = frozenset("""
james robert john michael david william richard joseph thomas charles christopher daniel matthew anthony mark donald
steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob gary nicholas eric
jonathan stephen larry justin scott brandon benjamin samuel gregory alexander frank patrick raymond jack dennis jerry
tyler aaron jose adam nathan henry douglas zachary peter kyle ethan walter noah jeremy christian keith roger terry
gerald harold sean austin carl arthur lawrence dylan jesse jordan bryan billy joe bruce gabriel logan albert willie
alan juan wayne elijah randy roy vincent ralph eugene russell bobby mason philip louis barack bill bernie mitt mike
ted marco rand chris newt rudy reince tim jeb al joe vladimir shinzo boris francois
emmanuel justin recep bashar harry chuck mitch lindsey orrin elijah cory ben ed bob jim tom
dick dan ron rick jon newt corey hakeem jim paul sherrod tom ted
""".split())


def gender_of(given_name: str) -> int:
    """+1 for a usual male given name, -1 for a usual female one, 0 when the name does not tell."""
    name = given_name.lower().strip(".")
    if name in FEMALE and name not in MALE:
        return -1
    if name in MALE and name not in FEMALE:
        return 1
    return 0
