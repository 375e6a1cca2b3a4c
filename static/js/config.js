/** Start-up settings the server hands over in a JSON block (the CSP forbids inline script). */
export function readClientConfig(doc = document) {
  const block = doc.getElementById('vbg-config');
  if (!block) throw new Error('The page is missing its configuration block (#vbg-config).');
  return Object.freeze(JSON.parse(block.textContent));
}
