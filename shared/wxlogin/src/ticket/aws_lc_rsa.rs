//! RSA PKCS#1 v1.5 / SHA-256 with aws-lc, for keys of **any** size from 1024 bits.
//!
//! Why this exists: CloudBase console custom-login keys are (as far as public fixtures show)
//! 1024-bit PKCS#1 keys, and aws-lc-rs's safe `RsaKeyPair` — which jsonwebtoken's `aws_lc_rs`
//! backend uses — refuses keys under 2048 bits (`KeyRejected::too_small`). aws-lc itself signs
//! them fine, with the same constant-time, blinded private-key code. So for 1024–2047-bit keys we
//! call aws-lc's `RSA_sign` directly. The key is parsed once and kept.
//!
//! The `rsa` crate is deliberately not used for signing: RUSTSEC-2023-0071.

use std::ptr::NonNull;

use aws_lc_sys as sys;

/// A parsed aws-lc RSA private key.
pub(crate) struct AwsLcRsaKey {
    rsa: NonNull<sys::RSA>,
}

// SAFETY: aws-lc `RSA` objects are safe to use from several threads for signing and verifying
// (BoringSSL/aws-lc lock the lazily-built blinding and Montgomery state internally), and we never
// mutate the key after parsing.
unsafe impl Send for AwsLcRsaKey {}
unsafe impl Sync for AwsLcRsaKey {}

impl AwsLcRsaKey {
    /// Parse a PKCS#1 `RSAPrivateKey` DER and check its consistency. `None` when it is not one.
    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Option<Self> {
        // SAFETY: pointer/length describe `der`, which outlives the call; aws-lc copies what it keeps.
        let rsa = unsafe { sys::RSA_private_key_from_bytes(der.as_ptr(), der.len()) };
        let Some(rsa) = NonNull::new(rsa) else {
            clear_errors();
            return None;
        };
        let key = AwsLcRsaKey { rsa };
        // SAFETY: `rsa` is a valid key owned by `key`.
        let ok = unsafe { sys::RSA_check_key(key.rsa.as_ptr()) } == 1;
        if !ok {
            clear_errors();
        }
        ok.then_some(key)
    }

    /// Modulus size in bits.
    pub(crate) fn bits(&self) -> u32 {
        // SAFETY: valid key.
        unsafe { sys::RSA_bits(self.rsa.as_ptr()) }
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `msg` (the JWT `RS256` signature).
    pub(crate) fn sign_rs256(&self, msg: &[u8]) -> Option<Vec<u8>> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, msg);
        // SAFETY: valid key; `out` has RSA_size bytes as RSA_sign requires; lengths are exact.
        unsafe {
            let size = sys::RSA_size(self.rsa.as_ptr()) as usize;
            let mut out = vec![0u8; size];
            let mut len: std::os::raw::c_uint = 0;
            let ok = sys::RSA_sign(
                sys::NID_sha256 as _,
                digest.as_ref().as_ptr(),
                digest.as_ref().len(),
                out.as_mut_ptr(),
                &mut len,
                self.rsa.as_ptr(),
            );
            if ok != 1 {
                clear_errors();
            }
            (ok == 1).then(|| {
                out.truncate(len as usize);
                out
            })
        }
    }

    /// Check an RS256 signature against this key's public half.
    pub(crate) fn verify_rs256(&self, msg: &[u8], signature: &[u8]) -> bool {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, msg);
        // SAFETY: valid key; all pointers/lengths describe live slices.
        let ok = unsafe {
            sys::RSA_verify(
                sys::NID_sha256 as _,
                digest.as_ref().as_ptr(),
                digest.as_ref().len(),
                signature.as_ptr(),
                signature.len(),
                self.rsa.as_ptr(),
            ) == 1
        };
        if !ok {
            clear_errors();
        }
        ok
    }
}

/// Drop aws-lc's thread-local error queue after a failure, so it does not grow.
fn clear_errors() {
    // SAFETY: no arguments; clears this thread's queue.
    unsafe { sys::ERR_clear_error() }
}

impl Drop for AwsLcRsaKey {
    fn drop(&mut self) {
        // SAFETY: we own the key and free it once.
        unsafe { sys::RSA_free(self.rsa.as_ptr()) }
    }
}
