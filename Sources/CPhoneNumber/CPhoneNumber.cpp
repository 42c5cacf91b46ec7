// A C shim over Google's libphonenumber (Debian's libphonenumber-dev): validation only.
#include "CPhoneNumber.h"

#include <cstring>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

extern "C" int cphonenumber_valid_region(const char *candidate, const char *regions) {
    const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
    std::string text(candidate);
    PhoneNumber number;
    if (text.rfind("+", 0) == 0 || text.rfind("00", 0) == 0) {
        if (text[0] == '0') text = "+" + text.substr(2);
        if (util->Parse(text, "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return -1;
        return util->IsValidNumber(number) ? 0 : -1;
    }
    size_t n = std::strlen(regions) / 2;
    for (size_t i = 0; i < n; i++) {
        std::string region(regions + 2 * i, 2);
        number.Clear();
        if (util->Parse(text, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) continue;
        if (util->IsValidNumberForRegion(number, region)) return static_cast<int>(i);
    }
    return -1;
}
