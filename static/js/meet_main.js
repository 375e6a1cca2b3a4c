/** Entry point of /meet/<room>: the studio, and a mesh meeting that sends its composited picture. */
import { readClientConfig } from './config.js';
import { startStudio } from './studio.js';
import { bindMeetingPanel } from './ui/meeting_panel.js';

const config = readClientConfig();
const studio = startStudio(config);
bindMeetingPanel({ studio, config, message: studio.message });
