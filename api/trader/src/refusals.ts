import type { Lang } from "./lang.ts";

/**
 * What the gateway refuses, said in the page's language: one Vietnamese and one English
 * sentence per `senCode` of its error envelope (`{code, msg, senCode}`). The gateway's own
 * `msg` stays beside it as the detail, since it carries what a sentence cannot (the pilot's
 * rule id such as NQ05-FOREIGN-ONLY, limits, amounts), and is all the page shows for a code
 * this table does not know.
 *
 * Which codes a trader can meet is decided in api/test/traderRefusals.test.ts: it walks the
 * server's code tables and fails when one of those has no sentence here, so the two cannot drift.
 * No UI imports: the test loads this module in Node.
 */
export type Sentence = { vi: string; en: string };

export const REFUSALS: Record<string, Sentence> = {
  // Pre-trade risk rules (risk/preTradeCheck.ts).
  RISK_SYMBOL_HALTED: { vi: "Thị trường này đang tạm ngừng giao dịch.", en: "This market is halted." },
  RISK_OFFERING_NOT_OPEN: { vi: "Đợt chào bán của tài sản này chưa mở.", en: "This asset's offering has not opened yet." },
  RISK_ACCOUNT_FROZEN: { vi: "Tài khoản của bạn đang bị phong toả.", en: "Your account is frozen." },
  RISK_PRICE_COLLAR: { vi: "Giá đặt lệch quá xa giá tham chiếu (biên độ giá).", en: "The price is too far from the reference price (price collar)." },
  RISK_MAX_ORDER_QTY: { vi: "Khối lượng vượt mức tối đa cho một lệnh.", en: "The size is above the maximum for one order." },
  RISK_MAX_ORDER_VALUE: { vi: "Giá trị lệnh vượt mức tối đa cho một lệnh.", en: "The order value is above the maximum for one order." },
  RISK_MAX_OPEN_ORDERS: { vi: "Bạn đã có số lệnh đang mở tối đa.", en: "You already have the maximum number of open orders." },
  RISK_RATE_LIMIT_KEY: { vi: "Quá nhiều lệnh mỗi giây trên khoá API này; hãy chờ một chút.", en: "Too many orders per second on this API key; wait a moment." },
  RISK_RATE_LIMIT_ACCOUNT: { vi: "Quá nhiều lệnh mỗi giây trên tài khoản này; hãy chờ một chút.", en: "Too many orders per second on this account; wait a moment." },
  RISK_INSUFFICIENT_FUNDS: { vi: "Số dư khả dụng không đủ.", en: "Your available balance is not enough." },
  RISK_DUPLICATE_CLIENT_OID: { vi: "Mã lệnh của khách hàng (clientOid) đã được dùng.", en: "This client order id (clientOid) was already used." },
  RISK_PRICE_NOT_ON_TICK: { vi: "Giá phải là bội số của bước giá.", en: "The price must be a multiple of the tick size." },
  RISK_SIZE_NOT_ON_LOT: { vi: "Khối lượng phải là bội số của lô.", en: "The size must be a multiple of the lot size." },
  RISK_SIZE_BELOW_MIN: { vi: "Khối lượng dưới mức tối thiểu.", en: "The size is below the minimum." },
  RISK_NO_REFERENCE_PRICE: { vi: "Chưa có giá tham chiếu cho thị trường này, nên chưa thể kiểm tra lệnh.", en: "This market has no reference price yet, so the order cannot be checked." },
  // The tokens' on-chain holder rules (risk/holderRules.ts).
  RISK_TOKEN_PAUSED: { vi: "Token này đang bị tạm dừng trên chuỗi.", en: "This token is paused on chain." },
  RISK_HOLDER_FROZEN: { vi: "Ví của bạn bị phong toả đối với token này.", en: "Your wallet is frozen for this token." },
  RISK_HOLDER_FROZEN_AMOUNT: { vi: "Một phần số dư bị đại lý chuyển nhượng phong toả trên chuỗi.", en: "Part of the balance is frozen on chain by the token's transfer agent." },
  RISK_IDENTITY_NOT_VERIFIED: { vi: "Ví này chưa có e-ID đã xác minh.", en: "This wallet has no verified e-ID." },
  RISK_IDENTITY_REVOKED: { vi: "e-ID của ví này đã bị thu hồi.", en: "This wallet's e-ID was revoked." },
  RISK_IDENTITY_EXPIRES: { vi: "e-ID của ví hết hạn trước khi giao dịch kịp thanh toán.", en: "The wallet's e-ID expires before the trade could settle." },
  RISK_HOLDER_KYC_LEVEL: { vi: "Tài sản này yêu cầu e-ID cấp cao hơn.", en: "This asset needs a higher e-ID level." },
  RISK_HOLDER_INVESTOR_TYPE: { vi: "Tài sản này không dành cho loại nhà đầu tư của bạn.", en: "This asset is not open to your investor type." },
  RISK_HOLDER_COUNTRY: { vi: "Tài sản này không dành cho nhà đầu tư ở quốc gia của bạn.", en: "This asset is not open to investors of your country." },
  RISK_HOLDER_CAP: { vi: "Vượt giới hạn nắm giữ tài sản này cho mỗi danh tính.", en: "Above this asset's holding limit per identity." },
  // The matching engine's rejections (matching-engine/src/codes.ts).
  ENGINE_MALFORMED_COMMAND: { vi: "Lệnh không hợp lệ.", en: "The order is malformed." },
  ENGINE_UNKNOWN_COMMAND: { vi: "Thao tác không được hỗ trợ.", en: "The operation is not supported." },
  ENGINE_UNKNOWN_SYMBOL: { vi: "Thị trường không tồn tại.", en: "The market does not exist." },
  ENGINE_INVALID_ID: { vi: "Mã lệnh không hợp lệ.", en: "The order id is invalid." },
  ENGINE_DUPLICATE_ID: { vi: "Mã lệnh đã tồn tại.", en: "The order id already exists." },
  ENGINE_INVALID_OWNER: { vi: "Lệnh không thuộc tài khoản này.", en: "The order does not belong to this account." },
  ENGINE_INVALID_SIDE: { vi: "Chiều lệnh phải là mua hoặc bán.", en: "The side must be buy or sell." },
  ENGINE_INVALID_PRICE: { vi: "Giá không hợp lệ.", en: "The price is invalid." },
  ENGINE_PRICE_NOT_ON_TICK: { vi: "Giá phải là bội số của bước giá.", en: "The price must be a multiple of the tick size." },
  ENGINE_INVALID_QTY: { vi: "Khối lượng không hợp lệ.", en: "The size is invalid." },
  ENGINE_QTY_NOT_ON_LOT: { vi: "Khối lượng phải là bội số của lô.", en: "The size must be a multiple of the lot size." },
  ENGINE_QTY_BELOW_MIN: { vi: "Khối lượng dưới mức tối thiểu.", en: "The size is below the minimum." },
  ENGINE_QTY_ABOVE_MAX: { vi: "Khối lượng vượt mức tối đa.", en: "The size is above the maximum." },
  ENGINE_INVALID_FUNDS: { vi: "Số tiền không hợp lệ.", en: "The funds are invalid." },
  ENGINE_INVALID_TIF: { vi: "Hiệu lực lệnh không hợp lệ.", en: "The time in force is invalid." },
  ENGINE_INVALID_ICEBERG: { vi: "Thông số lệnh ẩn (iceberg) không hợp lệ.", en: "The iceberg settings are invalid." },
  ENGINE_INVALID_STP: { vi: "Chế độ chống tự khớp không hợp lệ.", en: "The self-trade prevention mode is invalid." },
  ENGINE_INVALID_STOP_PRICE: { vi: "Giá kích hoạt không hợp lệ.", en: "The stop price is invalid." },
  ENGINE_POST_ONLY_WOULD_TAKE: { vi: "Lệnh chỉ đặt (post-only) sẽ khớp ngay, nên không được đặt.", en: "The post-only order would match at once, so it was not placed." },
  ENGINE_UNKNOWN_ORDER: { vi: "Không tìm thấy lệnh.", en: "The order was not found." },
  ENGINE_NOT_AMENDABLE: { vi: "Lệnh này không thể sửa.", en: "This order cannot be amended." },
  ENGINE_AMEND_NO_CHANGE: { vi: "Giá và khối lượng mới giống như cũ.", en: "The new price and size are the same as before." },
  CLUSTER_REFUSED_BEFORE_FAILOVER: { vi: "Lệnh đã bị từ chối ngay trước khi hệ thống khớp lệnh chuyển đổi, và lý do không còn: hãy kiểm tra rồi gửi lại.", en: "The order was refused just before the matching engine changed over and the reason was lost: check it and send it again." },
  // The trading layer (api/src/trading/codes.ts).
  TRADING_ORDER_NOT_FOUND: { vi: "Lệnh không tồn tại hoặc không thể huỷ.", en: "The order does not exist or cannot be cancelled." },
  TRADING_ORDER_NOT_ACTIVE: { vi: "Lệnh đã khớp hết hoặc đã huỷ.", en: "The order is already filled or cancelled." },
  TRADING_CUSTODY_DEBITED: {
    vi: "Lệnh bị huỷ: tài sản ký gửi của bạn trong kho thanh toán đã bị đại lý của token chuyển đi (thu hồi ví hoặc cưỡng chế theo quyết định có thẩm quyền).",
    en: "Order cancelled: the token's agent moved your custody out of the settlement vault (a wallet recovery or an enforced transfer).",
  },
  TRADING_ENGINE_REJECTED: { vi: "Bộ khớp lệnh từ chối lệnh này.", en: "The matching engine refused this order." },
  TRADING_UNKNOWN_SYMBOL: { vi: "Thị trường không được hỗ trợ.", en: "This market is not supported." },
  TRADING_UNKNOWN_CURRENCY: { vi: "Tiền tệ không được hỗ trợ.", en: "This currency is not supported." },
  TRADING_BAD_AMOUNT: { vi: "Số lượng phải lớn hơn 0.", en: "The amount must be above zero." },
  TRADING_OFFERING_NOT_OPEN: { vi: "Đợt chào bán của tài sản này chưa mở.", en: "This asset's offering has not opened yet." },
  // Sign-in and the session (api/src/errors/SenError.ts).
  AUTH_BAD_SESSION: { vi: "Phiên đăng nhập không hợp lệ hoặc đã hết hạn; hãy đăng nhập lại.", en: "The session is invalid or expired; sign in again." },
  AUTH_SIWE_INVALID: { vi: "Đăng nhập bằng ví thất bại; hãy thử ký lại.", en: "Sign-in with the wallet failed; try signing again." },
  ID_NOT_VERIFIED: { vi: "Ví này chưa có e-ID đã xác minh.", en: "This wallet has no verified e-ID." },
  AUTH_ACCOUNT_DISABLED: { vi: "Tài khoản đã bị khoá (ví dụ e-ID đã bị thu hồi).", en: "The account is disabled (e.g. its e-ID was revoked)." },
  AUTH_PERMISSION_DENIED: { vi: "Khoá hoặc phiên này không có quyền cho thao tác này.", en: "This key or session lacks the permission for this." },
  AUTH_ROLE_FORBIDDEN: { vi: "Thao tác này dành cho vai trò khác (vận hành, tuân thủ).", en: "This is for another role (operator, compliance)." },
  AUTH_IP_NOT_ALLOWED: { vi: "Địa chỉ IP này không được phép.", en: "This IP address is not allowed." },
  AUTH_INVALID_INPUT: { vi: "Thông tin nhập không hợp lệ (tên, quyền, IP hoặc mật khẩu khoá).", en: "Invalid input (label, permissions, IPs or passphrase)." },
  AUTH_REPLAY_GUARD_FULL: { vi: "Máy chủ đang bận; hãy thử lại sau ít giây.", en: "The server is busy; try again in a few seconds." },
  // The edge (api/src/http/errors.ts).
  VALIDATION: { vi: "Tham số không hợp lệ.", en: "A parameter is invalid." },
  NOT_FOUND: { vi: "Không tìm thấy.", en: "Not found." },
  BODY_TOO_LARGE: { vi: "Yêu cầu quá lớn.", en: "The request is too large." },
  RATE_LIMITED: { vi: "Quá nhiều yêu cầu; hãy thử lại sau ít giây.", en: "Too many requests; try again in a few seconds." },
  RATE_LIMIT_IP: { vi: "Quá nhiều yêu cầu từ địa chỉ IP này; hãy thử lại sau ít giây.", en: "Too many requests from this IP address; try again in a few seconds." },
  HISTORY_BUSY: { vi: "Dữ liệu lịch sử đang được dựng lại; hãy thử lại sau ít giây.", en: "Past data is being rebuilt; try again in a few seconds." },
};

/** A failure of the exchange itself (HTTP 5xx): the trader can only retry. */
export const UNAVAILABLE: Sentence = { vi: "Sàn tạm thời không xử lý được yêu cầu; hãy thử lại sau.", en: "The exchange cannot handle the request right now; try again later." };

/**
 * A refusal in the page's language: the sentence for its senCode (or, for a 5xx, that the
 * exchange is unavailable) and the gateway's msg as the detail; an unknown code: the msg alone.
 */
export function refusalWords(r: { senCode?: string; msg: string; status?: number }, lang: Lang): { sentence: string | null; detail: string } {
  const s = (r.senCode !== undefined ? REFUSALS[r.senCode] : undefined) ?? (r.status !== undefined && r.status >= 500 ? UNAVAILABLE : undefined);
  return { sentence: s ? s[lang] : null, detail: r.msg };
}
