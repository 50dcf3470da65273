// aws-local-stepfunctions calls Promise.withResolvers, which Node 20 lacks; the local runtime polyfills it the same way.
import '../local/polyfills.ts';
// Lambda runs Node 22; the AWS SDK's notice about Node 20 is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
