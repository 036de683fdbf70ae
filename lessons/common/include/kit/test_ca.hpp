// A throwaway certificate authority and one server certificate, made at run time with OpenSSL, so
// TLS tests need no key or certificate files in the repository (namespace kit).
#pragma once

#include <string>

namespace kit {

// A fresh CA (EC P-256 key, self-signed, valid for one day) and a server certificate it signs for
// "127.0.0.1" (IP) and "localhost" (DNS). Every instance is a different CA: a client that trusts
// one instance rejects servers of another, which is how tests provoke a verification failure.
// All three strings are PEM. Threads: immutable after construction, so any thread may read it.
// Errors: the constructor throws std::runtime_error naming the OpenSSL call that failed.
class TestCa {
  public:
    TestCa();

    const std::string& ca_pem() const { return ca_pem_; }      // the CA certificate to trust
    const std::string& cert_pem() const { return cert_pem_; }  // the server's certificate
    const std::string& key_pem() const { return key_pem_; }    // the server's private key

  private:
    std::string ca_pem_;
    std::string cert_pem_;
    std::string key_pem_;
};

}  // namespace kit
