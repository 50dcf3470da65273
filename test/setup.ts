// aws-local-stepfunctions calls Promise.withResolvers, which Node 20 lacks; the local runtime polyfills it the same way.
import '../local/polyfills.ts';
