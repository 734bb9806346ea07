// Strictly parse a Note and a Question given as JSON files with Fedify's fromJsonLd (throws on malformed JSON-LD).
import { readFileSync } from "node:fs";
import { getDocumentLoader, Note, Question } from "@fedify/fedify";
const contextLoader = getDocumentLoader({ allowPrivateAddress: true });
const [notePath, questionPath] = process.argv.slice(2);
const note = await Note.fromJsonLd(JSON.parse(readFileSync(notePath)), { documentLoader: contextLoader, contextLoader });
const question = await Question.fromJsonLd(JSON.parse(readFileSync(questionPath)), { documentLoader: contextLoader, contextLoader });
const options = [];
for await (const o of question.getExclusiveOptions({ documentLoader: contextLoader, contextLoader })) options.push(o.name?.toString());
console.log(JSON.stringify({ quote: note.quoteUrl?.href ?? null, options, voters: question.voters ?? null, end: question.endTime?.toString() ?? null }));
