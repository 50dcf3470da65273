import { roleAllows, type Caller } from '../api-token.ts';
import { INBOUND_DETAIL_TYPES } from './catalog.ts';

/** A PutEvents entry's refusal, as EventBridge reports one in FailedEntries. */
export interface EntryRefusal {
  ErrorCode: string;
  ErrorMessage: string;
}

/**
 * Why an outside principal may not put this entry, or undefined when it may: only the inbound
 * detail-types of CONTRACT.md, only under an event source bound to the caller's token (as an IAM
 * condition on events:source does on AWS), never a certops.* source, and only with the rights to
 * request certificates. The codes are EventBridge's own.
 */
export function inboundRefusal(entry: { Source?: string; DetailType?: string }, caller: Caller): EntryRefusal | undefined {
  const source = String(entry.Source ?? '');
  if (source.startsWith('certops.')) return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: `Source ${source.slice(0, 64)}: certops.* events come from certops' own functions only` };
  if (!INBOUND_DETAIL_TYPES.includes(String(entry.DetailType))) {
    return { ErrorCode: 'NotAuthorizedForDetailTypeException', ErrorMessage: `DetailType ${String(entry.DetailType).slice(0, 64)}: outside systems may put ${INBOUND_DETAIL_TYPES.join(', ')} only` };
  }
  if (!caller.eventSources.includes(source)) {
    return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: `Source ${source.slice(0, 64)} is not bound to the token of ${caller.name} (its sources: ${caller.eventSources.join(', ') || 'none'})` };
  }
  if (!roleAllows(caller.role, 'requester')) return { ErrorCode: 'AccessDeniedException', ErrorMessage: `${caller.name} (${caller.role}) may not request certificates` };
  return undefined;
}
