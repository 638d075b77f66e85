from qa.text.entities import entities, tokens


def test_lac_finds_people_organisations_places_and_times_with_offsets():
    text = "外交部发言人华春莹22日在例行记者会上表示，中方欢迎哈萨克斯坦总统托卡耶夫访华。"
    found = {(e.text, e.kind) for e in entities(text)}
    assert {("外交部", "organisation"), ("华春莹", "person"), ("托卡耶夫", "person"), ("哈萨克斯坦", "place")} <= found
    for e in entities(text):
        assert text[e.start : e.end] == e.text
    assert "".join(t.text for t in tokens(text)) == text


def test_empty_text_has_no_tokens():
    assert tokens("") == ()
    assert entities("") == ()
