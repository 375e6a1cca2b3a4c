/** Entry point of the home page: the studio, and sharing its picture by link. */
import { readClientConfig } from './config.js';
import { startStudio } from './studio.js';
import { bindSharePanel } from './ui/share_panel.js';

const config = readClientConfig();
const studio = startStudio(config);
bindSharePanel({ studio, config, message: studio.message });
