#pragma once
// expect_message<E>(f, part): f() must throw E whose what() contains `part`.
#include <gtest/gtest.h>

#include <string>

template <class E, class F>
void expect_message(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one containing: " << part;
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "message: " << e.what();
  }
}
