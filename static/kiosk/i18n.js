/*
 * The kiosk's own words in Vietnamese and English, and the language being shown.
 * The questionnaire's texts come from the API as {"vi": ..., "en": ...} and are read with loc().
 * No DOM here: screens ask for words, main.js changes the language.
 */

let current = "vi";

/** The language being shown: "vi" (the default, and after every reset) or "en". */
export function lang() {
  return current;
}

/** Switch the language; false when the code is not one of ours. */
export function setLang(code) {
  if (!I18N[code]) return false;
  current = code;
  return true;
}

// UI strings. The questionnaire's own texts come from the API as {"vi": ..., "en": ...}.
export const I18N = {
  vi: {
    appTitle: "Khảo sát sự hài lòng của người dân",
    language: "Ngôn ngữ",
    loading: "Đang tải…",
    start: "Bắt đầu",
    startHint: "Phiếu không ghi tên. Chạm “Bắt đầu” để trả lời.",
    back: "Quay lại",
    next: "Tiếp tục",
    skip: "Bỏ qua",
    clearAnswer: "Xóa lựa chọn",
    submit: "Gửi phiếu",
    saving: "Đang lưu phiếu…",
    progress: "Câu {n}/{total}",
    progressName: "Tiến độ trả lời",
    answerThis: "Xin Ông/Bà trả lời câu hỏi này.",
    chooseOne: "Xin Ông/Bà chọn ít nhất một phương án.",
    numberRange: "Xin nhập một số nguyên từ {min} đến {max}.",
    tooLong: "Tối đa {max} ký tự.",
    badCharacter: "Câu trả lời có một ký tự ẩn không dùng được. Xin Ông/Bà xóa ký tự đó.",
    chars: "{n}/{max} ký tự",
    chooseMany: "Có thể chọn nhiều phương án, rồi chạm “Tiếp tục”.",
    chooseUpTo: "Chọn tối đa {n} phương án, rồi chạm “Tiếp tục”.",
    chooseUpToError: "Chỉ chọn tối đa {n} phương án.",
    chosenCount: "Đã chọn {k}/{n}.",
    textPlaceholder: "Nhập ý kiến của Ông/Bà…",
    yes: "Có",
    no: "Không",
    scale1: "Rất không hài lòng",
    scale2: "Không hài lòng",
    scale3: "Bình thường",
    scale4: "Hài lòng",
    scale5: "Rất hài lòng",
    notApplicable: "Không áp dụng / Không biết",
    dossierTitle: "Mã hồ sơ",
    dossierQuestion: "Xin nhập mã hồ sơ in trên giấy tiếp nhận hồ sơ (biên nhận) của Ông/Bà.",
    dossierError: "Mã hồ sơ gồm từ {min} đến {max} ký tự.",
    stillThere: "Ông/Bà có muốn tiếp tục trả lời không?",
    stillThereBody: "Nếu không, các câu trả lời sẽ được xóa và màn hình trở về trang đầu sau {s} giây.",
    continue: "Tiếp tục trả lời",
    restart: "Làm lại từ đầu",
    restartTitle: "Làm lại từ đầu?",
    restartBody: "Các câu trả lời của Ông/Bà sẽ được xóa và màn hình trở về trang đầu.",
    restartYes: "Xóa và làm lại",
    restartNo: "Không, tiếp tục trả lời",
    listen: "Nghe",
    listenName: "Nghe đọc câu hỏi và các câu trả lời",
    listenStop: "Dừng",
    listenStopName: "Dừng đọc",
    largeText: "Chữ to",
    voices: "Giọng đọc trên máy: tiếng Việt: {vi} · tiếng Anh: {en}",
    voicesNone: "không có (không hiện nút Nghe)",
    thanksDefault: "Trân trọng cảm ơn Ông/Bà đã tham gia khảo sát!",
    thanksSaved: "Phiếu của Ông/Bà đã được ghi nhận.",
    thanksReturn: "Màn hình sẽ trở về trang đầu sau {s} giây.",
    done: "Xong",
    noSurveyTitle: "Hiện chưa có đợt khảo sát",
    noSurveyBody: "Xin cảm ơn Ông/Bà. Mời Ông/Bà quay lại sau.",
    quotaFullTitle: "Xin cảm ơn Ông/Bà!",
    quotaFullBody: "Đợt khảo sát này đã nhận đủ ý kiến của người dân trong nhóm của Ông/Bà, nên Ông/Bà không cần trả lời thêm.",
    waiting: "{n} phiếu chờ gửi",
    saveFailedTitle: "Chưa lưu được phiếu",
    saveFailedBody: "Xin Ông/Bà chạm “Thử lại”. Nếu vẫn không được, xin báo cán bộ tại quầy.",
    retry: "Thử lại",
    fatalTitle: "Đã có lỗi",
    fatalBody: "Xin chạm nút dưới đây để bắt đầu lại.",
    staffNotPaired:
      "Máy tính bảng này chưa được ghép nối: hãy mở đường dẫn ghép nối do cán bộ khảo sát cung cấp.",
    staffRevoked:
      "Kiosk chưa được ghép nối hoặc đã bị thu hồi (Kiosk not paired or revoked). Các phiếu chờ gửi vẫn được giữ trên máy.",
    staffRejected: "{n} phiếu bị máy chủ từ chối, đang lưu trên máy (kho “rejected”).",
    staffConflicts: "{n} phiếu trùng mã với phiếu khác trên máy chủ, đang lưu trên máy (kho “conflicts”).",
    staffOffline: "Đang dùng bộ câu hỏi đã lưu trên máy (không kết nối được máy chủ).",
    staffNoStorage: "Trình duyệt không cho lưu phiếu trên máy (IndexedDB): phiếu chỉ được nhận khi có mạng.",
  },
  en: {
    appTitle: "Citizen satisfaction survey",
    language: "Language",
    loading: "Loading…",
    start: "Start",
    startHint: "This survey is anonymous. Tap “Start” to answer.",
    back: "Back",
    next: "Next",
    skip: "Skip",
    clearAnswer: "Clear my answer",
    submit: "Submit",
    saving: "Saving…",
    progress: "Question {n} of {total}",
    progressName: "Progress",
    answerThis: "Please answer this question.",
    chooseOne: "Please choose at least one.",
    numberRange: "Please enter a whole number from {min} to {max}.",
    tooLong: "At most {max} characters.",
    badCharacter: "The answer holds an invisible character that cannot be kept. Please delete it.",
    chars: "{n}/{max} characters",
    chooseMany: "You can choose more than one, then tap “Next”.",
    chooseUpTo: "Choose up to {n}, then tap “Next”.",
    chooseUpToError: "Choose at most {n}.",
    chosenCount: "Chosen: {k}/{n}.",
    textPlaceholder: "Type your comment…",
    yes: "Yes",
    no: "No",
    scale1: "Very dissatisfied",
    scale2: "Dissatisfied",
    scale3: "Neutral",
    scale4: "Satisfied",
    scale5: "Very satisfied",
    notApplicable: "Not applicable / Don't know",
    dossierTitle: "Dossier code",
    dossierQuestion: "Please enter the dossier code printed on your receipt.",
    dossierError: "The dossier code has {min} to {max} characters.",
    stillThere: "Would you like to continue answering?",
    stillThereBody: "If not, your answers will be cleared and the survey will return to the start in {s} seconds.",
    stillThereBodyOne: "If not, your answers will be cleared and the survey will return to the start in 1 second.",
    continue: "Continue",
    restart: "Start over",
    restartTitle: "Start over?",
    restartBody: "Your answers will be cleared and the survey will return to the start.",
    restartYes: "Clear and start over",
    restartNo: "No, keep answering",
    listen: "Listen",
    listenName: "Listen to the question and its answers",
    listenStop: "Stop",
    listenStopName: "Stop reading",
    largeText: "Larger text",
    voices: "Voices on this tablet: Vietnamese: {vi} · English: {en}",
    voicesNone: "none (no Listen button)",
    thanksDefault: "Thank you for taking part in this survey!",
    thanksSaved: "Your answers have been recorded.",
    thanksReturn: "This screen will return to the start in {s} seconds.",
    thanksReturnOne: "This screen will return to the start in 1 second.",
    done: "Done",
    noSurveyTitle: "There is no survey at the moment",
    noSurveyBody: "Thank you. Please come back later.",
    quotaFullTitle: "Thank you!",
    quotaFullBody: "This survey already has enough answers from people in your group, so there is nothing more to answer.",
    waiting: "{n} responses waiting",
    waitingOne: "1 response waiting",
    saveFailedTitle: "Your answers could not be saved",
    saveFailedBody: "Please tap “Try again”. If it still fails, please tell the staff at the desk.",
    retry: "Try again",
    fatalTitle: "Something went wrong",
    fatalBody: "Please tap the button below to start again.",
    staffNotPaired: "This tablet is not paired yet: open the pairing link given by the survey officer.",
    staffRevoked: "Kiosk not paired or revoked. Waiting responses are kept on this tablet.",
    staffRejected: "{n} response(s) rejected by the server, kept on this tablet (store “rejected”).",
    staffConflicts: "{n} response(s) clash with a different response on the server, kept on this tablet (store “conflicts”).",
    staffOffline: "Using the questionnaire saved on this tablet (the server cannot be reached).",
    staffNoStorage: "This browser cannot keep responses on the tablet (IndexedDB): answers are accepted only when online.",
  },
};

/** UI string in the current language, with {name} placeholders filled from params. */
export function t(key, params) {
  const table = I18N[current] || I18N.vi;
  let s = table[key];
  if (s === undefined) s = I18N.vi[key];
  if (s === undefined) s = key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  return s;
}

/** Like t(), with the words for one (`key` + "One") when n is 1 and the language has them (English). */
export function tn(key, n, params) {
  const table = I18N[current] || I18N.vi;
  return t(n === 1 && table[key + "One"] !== undefined ? key + "One" : key, params);
}

/** A {"vi","en"} text from the API in the current language (falls back to the other one). */
export function loc(text) {
  if (text == null) return "";
  if (typeof text === "string") return text;
  return text[current] || text.vi || text.en || "";
}
