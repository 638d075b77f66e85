"""The page's CSS and its small click handler (CHAT_JS), which only moves our own escaped fragments around."""

CSS = """
.qa-layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; align-items: start; }
@media (max-width: 900px) { .qa-layout { grid-template-columns: minmax(0, 1fr); } }
.qa-conv { display: flex; flex-direction: column; gap: 10px; min-height: 200px; }
.qa-msg { display: flex; }
.qa-user { justify-content: flex-end; }
.qa-bubble { max-width: 92%; padding: 10px 12px; border-radius: 12px; line-height: 1.6; overflow-wrap: anywhere; white-space: pre-wrap; }
.qa-user .qa-bubble { background: var(--color-accent-soft, #e8efff); }
.qa-bot .qa-bubble { background: var(--block-background-fill, #f6f6f6); border: 1px solid var(--border-color-primary, #ddd); }
.qa-cite { border: none; background: none; color: var(--color-accent, #2563eb); font-weight: 600; cursor: pointer; padding: 0 1px; font: inherit; }
.qa-cite.active, .qa-card.active { outline: 2px solid var(--color-accent, #2563eb); border-radius: 4px; }
.qa-cards { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; white-space: normal; }
.qa-card { border: 1px solid var(--border-color-primary, #ccc); border-radius: 8px; padding: 4px 8px; background: var(--background-fill-primary, #fff); cursor: pointer; text-align: left; font-size: 0.9em; max-width: 100%; }
.qa-n { color: var(--color-accent, #2563eb); font-weight: 600; }
.qa-meta { color: var(--body-text-color-subdued, #666); font-size: 0.85em; }
.qa-query { color: var(--body-text-color-subdued, #666); font-size: 0.8em; margin-top: 6px; }
.qa-refused, .qa-pending { color: var(--body-text-color-subdued, #666); }
.qa-error { color: #b91c1c; }
.qa-reader { position: sticky; top: 8px; border: 1px solid var(--border-color-primary, #ddd); border-radius: 10px; padding: 12px; max-height: 85vh; overflow: auto; overflow-wrap: anywhere; }
.qa-passage { margin: 8px 0; padding: 8px 10px; border-left: 3px solid var(--color-accent, #2563eb); white-space: pre-wrap; line-height: 1.7; }
mark.qa-hit { background: #ffe58a; color: inherit; padding: 0 1px; }
mark.qa-span { background: #fbbf24; color: inherit; font-weight: 600; padding: 0 1px; border-radius: 2px; }
mark.qa-claim { background: #fca5a5; color: inherit; padding: 0 1px; border-radius: 2px; }
mark.qa-source { background: #86efac; color: inherit; padding: 0 1px; border-radius: 2px; }
.qa-short { font-size: 1.15em; margin-bottom: 4px; }
.qa-open { margin-top: 4px; border: 1px solid var(--color-accent, #2563eb); color: var(--color-accent, #2563eb); background: none; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
.qa-reader-article:not(:empty) { margin-top: 12px; border-top: 1px solid var(--border-color-primary, #ddd); padding-top: 10px; }
.qa-article-text { white-space: pre-wrap; line-height: 1.8; max-height: 60vh; overflow: auto; margin-top: 8px; }
.qa-empty { color: var(--body-text-color-subdued, #666); padding: 8px 0; }
.qa-articles { width: 100%; border-collapse: collapse; }
.qa-articles td, .qa-articles th { border-bottom: 1px solid var(--border-color-primary, #ddd); padding: 4px 6px; text-align: left; overflow-wrap: anywhere; }
.qa-up-ok { color: #15803d; } .qa-up-bad { color: #b91c1c; }
.qa-table { width: 100%; border-collapse: collapse; }
.qa-table td, .qa-table th { border-bottom: 1px solid var(--border-color-primary, #ddd); padding: 4px 6px; text-align: left; vertical-align: top; }
.qa-who { min-width: 9em; max-width: 16em; overflow-wrap: break-word; }
.qa-nowrap { white-space: nowrap; }
.qa-type { font-size: 0.75em; border: 1px solid var(--border-color-primary, #ccc); border-radius: 6px; padding: 0 4px; color: var(--body-text-color-subdued, #666); }
.qa-aliases { color: var(--body-text-color-subdued, #666); font-size: 0.85em; }
#qa-quotes-results { overflow-x: auto; }
#qa-quotes-table td.qa-src { min-width: 12em; max-width: 16em; overflow-wrap: anywhere; font-size: 0.85em; }
@media (max-width: 700px) {  /* phone: each statement becomes a card instead of squeezed columns */
  #qa-quotes-table thead { display: none; }
  #qa-quotes-table tr, #qa-quotes-table td { display: block; max-width: none; border: none; padding: 2px 4px; }
  #qa-quotes-table tr { border-bottom: 1px solid var(--border-color-primary, #ddd); padding: 6px 0; }
}
"""

# Runs once when the chat component mounts; the handler is delegated, so it survives re-renders.
CHAT_JS = """
const show = (key) => {
  const tpl = Array.from(element.querySelectorAll('template[data-detail]')).find(t => t.dataset.detail === key);
  const reader = element.querySelector('.qa-reader-cite');
  if (!tpl || !reader) return;
  reader.replaceChildren(tpl.content.cloneNode(true));
  element.querySelector('.qa-reader-article').replaceChildren();
  element.querySelectorAll('.active').forEach(b => b.classList.remove('active'));
  element.querySelectorAll('[data-cite]').forEach(b => { if (b.dataset.cite === key) b.classList.add('active'); });
  reader.scrollIntoView({block: 'nearest'});
};
const openArticle = async (btn) => {
  const box = element.querySelector('.qa-reader-article');
  box.textContent = 'Loading…';
  try {
    // The server escapes the article; this is our own markup.
    box.innerHTML = await server.open_article({article_id: btn.dataset.article, start: Number(btn.dataset.start), end: Number(btn.dataset.end)});
  } catch (e) { box.textContent = 'Could not open the article.'; return; }
  const hit = box.querySelector('#qa-article-hit');
  if (hit) hit.scrollIntoView({block: 'center'});
};
element.addEventListener('click', (ev) => {
  const cite = ev.target.closest('[data-cite]');
  if (cite && element.contains(cite)) { ev.preventDefault(); show(cite.dataset.cite); return; }
  const open = ev.target.closest('.qa-open');
  if (open && element.contains(open)) { ev.preventDefault(); openArticle(open); }
});
"""
