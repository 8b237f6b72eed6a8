#pragma once
// Between http.cc and server.cc only: Beast's request as ours. Includes
// Boost.Beast, so no other header may include this one.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "controller/web/http.h"

namespace rampart::web::detail {

Result<HttpRequest> FromBeast(const boost::beast::http::request<boost::beast::http::string_body>& req,
                              std::string remote);

}  // namespace rampart::web::detail
