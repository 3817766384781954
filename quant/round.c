/* placeholder until the rounding family lands */
typedef int quant_round_placeholder;
