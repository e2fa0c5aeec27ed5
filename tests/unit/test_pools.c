#include <criterion/criterion.h>
#include "autozyme.h"
