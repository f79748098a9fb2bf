// Uppy's own packages, as an app bundles them; esbuild makes build/browser/uppy.bundle.js of this
// (tests/local/test_uppy_browser.py builds it when it is missing or older than this file).
import Uppy from '@uppy/core'
import AwsS3 from '@uppy/aws-s3'

window.Uppy = Uppy
window.AwsS3 = AwsS3
