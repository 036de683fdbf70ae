// The throwaway test CA: keys, certificates and PEM text made with OpenSSL's API at run time.
#include "kit/test_ca.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace kit {

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

void check(bool ok, const char* call) {
    if (!ok) {
        throw std::runtime_error(std::string("kit::TestCa: OpenSSL call ") + call +
                                 " failed; is the OpenSSL library complete (EC, SHA-256)?");
    }
}

Key make_key() {
    const KeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
    check(ctx != nullptr, "EVP_PKEY_CTX_new_id");
    check(EVP_PKEY_keygen_init(ctx.get()) == 1, "EVP_PKEY_keygen_init");
    check(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1) == 1,
          "EVP_PKEY_CTX_set_ec_paramgen_curve_nid");
    EVP_PKEY* raw = nullptr;
    check(EVP_PKEY_keygen(ctx.get(), &raw) == 1, "EVP_PKEY_keygen");
    return Key(raw);
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    const int added = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    check(added == 1, "X509_add_ext");
}

// A certificate for `key` named `cn`, signed by `issuer_key` (issuer == nullptr: self-signed).
Cert make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool is_ca) {
    Cert cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
    std::uint64_t serial = 0;
    check(RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) == 1, "RAND_bytes");
    check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial >> 1U) == 1,
          "ASN1_INTEGER_set_uint64");
    // Valid from an hour ago (clock skew between nothing, but cheap) for one day.
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "X509_gmtime_adj");
    check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24L * 3600) != nullptr,
          "X509_gmtime_adj");
    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(cn), -1, -1, 0) == 1,
          "X509_NAME_add_entry_by_txt");
    X509* signer = issuer != nullptr ? issuer : cert.get();
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1,
          "X509_set_issuer_name");
    check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
    if (is_ca) {
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
    } else {
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
        add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
        add_ext(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
        add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    }
    check(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    check(len > 0 && data != nullptr, "BIO_get_mem_data");
    return {data, static_cast<std::size_t>(len)};
}

std::string cert_text(X509* cert) {
    const Bio bio(BIO_new(BIO_s_mem()));
    check(bio != nullptr && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
    return bio_text(bio.get());
}

std::string key_text(EVP_PKEY* key) {
    const Bio bio(BIO_new(BIO_s_mem()));
    check(bio != nullptr &&
              PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PrivateKey");
    return bio_text(bio.get());
}

}  // namespace

TestCa::TestCa() {
    const Key ca_key = make_key();
    const Cert ca = make_cert(ca_key.get(), "kit throwaway test CA", nullptr, ca_key.get(), true);
    const Key server_key = make_key();
    const Cert server = make_cert(server_key.get(), "127.0.0.1", ca.get(), ca_key.get(), false);
    ca_pem_ = cert_text(ca.get());
    cert_pem_ = cert_text(server.get());
    key_pem_ = key_text(server_key.get());
}

}  // namespace kit
